#pragma once

// Small af_packet.c look-alikes, one per era of the file's history (docs/af_packet-history.md),
// written for these tests (not kernel code). Every line an anchor should land on carries a marker
// comment
// `/*@name*/`; the locator ignores comments, the tests read the expected lines from the markers.

#include <map>
#include <sstream>
#include <string>

namespace harness::probes::synth {

struct Era {
  std::string name;
  bool v3_label = true;   // `case TPACKET_V3:` exists (3.2+)
  bool v3_arm = false;    // ... with a body (4.11+)
  bool read_once = false; // READ_ONCE/WRITE_ONCE on tp_status (6.5+)
  enum class Wait {
    schedule,
    schedule_resched,
    completion_skb,
    completion_pending
  } wait = Wait::schedule;
  bool else_break = false;                  // 6.16+
  std::string xmit = "dev_queue_xmit(skb)"; // the transmit call after `err = `
  bool atomic_pending = true;               // <= 3.13
  bool ubuf_complete = false;               // TX completion in tpacket_ubuf_complete
  bool clamp_vlan = false; // `if ((size_max > dev->mtu + reserve + VLAN_HLEN) && ...)`
  // Shapes seen in real trees (the corpus of 3.18 / 4.9 / 4.19 vendor files):
  bool alloc_fail_single = false; // `if (unlikely(skb == NULL))` + `goto out_status;`, no braces
  bool xmit_err_positive = false; // `if (unlikely(err > 0)) {` after the transmit (<= 3.18)
  bool snd_prototype = false;     // `static int tpacket_snd(...);` declared near the top (<= 4.9)
  bool vendor_hook = false;       // a file-scope function pointer with an initializer
  bool else_brace = false;        // the 6.16 exit as `} else { break; }` (checkpatch style)
  bool annotated_defs = false;    // a sparse annotation between parameter list and body, as
                                  // af_packet.c's own prb_* functions have (`__releases(...)`)
};

inline std::string synthetic_source(const Era& e) {
  std::ostringstream s;
  const std::string st1 =
      e.read_once ? "WRITE_ONCE(h.h1->tp_status, status);" : "h.h1->tp_status = status;";
  const std::string st2 =
      e.read_once ? "WRITE_ONCE(h.h2->tp_status, status);" : "h.h2->tp_status = status;";
  const std::string st3 =
      e.read_once ? "WRITE_ONCE(h.h3->tp_status, status);" : "h.h3->tp_status = status;";
  auto rd = [&](const char* h) {
    return e.read_once ? std::string("return READ_ONCE(h.") + h + "->tp_status);"
                       : std::string("return h.") + h + "->tp_status;";
  };
  s << "// synthetic af_packet.c, era " << e.name << "\n"
    << "#include <linux/kernel.h>\n"
    << "#define BRACES_IN_A_MACRO { if (x) { \\\n   y(); }\n"
    << "static const char *banner = \"} { not code\"; /* } */\n"
    << "static char brace = '{';\n\n";
  if (e.snd_prototype)
    s << "static int tpacket_snd(struct packet_sock *po, struct msghdr *msg);\n";
  if (e.vendor_hook)
    s << "int (*handle_hook)(struct sock *sk, struct sk_buff *skb) = NULL;\n"
      << "EXPORT_SYMBOL(handle_hook);\n\n";
  s << "static void __packet_set_status(struct packet_sock *po, void *frame, int status) "
       "/*@set_status.start*/\n"
    << "{\n\tunion tpacket_uhdr h;\n\n\th.raw = frame;\n\tswitch (po->tp_version) {\n"
    << "\tcase TPACKET_V1:\n\t\t" << st1
    << "\n\t\tflush(h.h1);\n\t\tbreak; /*@set_status.v1_break*/\n"
    << "\tcase TPACKET_V2:\n\t\t" << st2
    << "\n\t\tflush(h.h2);\n\t\tbreak; /*@set_status.v2_break*/\n";
  if (e.v3_arm)
    s << "\tcase TPACKET_V3:\n\t\t" << st3
      << "\n\t\tflush(h.h3);\n\t\tbreak; /*@set_status.v3_break*/\n";
  else if (e.v3_label)
    s << "\tcase TPACKET_V3:\n";
  s << "\tdefault:\n\t\tWARN(1, \"unsupported { version\\n\");\n\t\tBUG();\n\t}\n\tsmp_wmb();\n"
    << "} /*@set_status.end*/\n\n";

  s << "static int __packet_get_status(struct packet_sock *po, void *frame) /*@get_status.start*/\n"
    << "{\n\tunion tpacket_uhdr h;\n\n\tsmp_rmb();\n\th.raw = frame;\n\tswitch (po->tp_version) {\n"
    << "\tcase TPACKET_V1:\n\t\tflush(h.h1);\n\t\t" << rd("h1") << " /*@get_status.v1_return*/\n"
    << "\tcase TPACKET_V2:\n\t\tflush(h.h2);\n\t\t" << rd("h2") << " /*@get_status.v2_return*/\n";
  if (e.v3_arm)
    s << "\tcase TPACKET_V3:\n\t\tflush(h.h3);\n\t\t" << rd("h3") << " /*@get_status.v3_return*/\n";
  else if (e.v3_label)
    s << "\tcase TPACKET_V3:\n";
  s << "\tdefault:\n\t\tBUG();\n\t\treturn 0;\n\t}\n} /*@get_status.end*/\n\n";

  // A prototype and a call must not be taken for the definition.
  s << "static void tpacket_destruct_skb(struct sk_buff *skb);\n\n";
  const std::string dec =
      e.atomic_pending ? "atomic_dec(&po->tx_ring.pending);" : "packet_dec_pending(&po->tx_ring);";
  if (e.ubuf_complete) {
    s << "static void tpacket_ubuf_complete(struct sk_buff *skb, struct ubuf_info *uarg, "
         "/*@destruct.start*/\n"
      << "\t\t\t\t  bool success)\n{\n\tstruct packet_sock *po = uarg_po(uarg);\n\tvoid *ph = "
         "uarg_ph(uarg);\n"
      << "\t__u32 ts;\n\n\tts = stamp(po, ph, skb);\n"
      << "\t__packet_set_status(po, ph, TP_STATUS_AVAILABLE | ts); /*@destruct.set_available*/\n\n"
      << "\t" << dec << " /*@destruct.pending_dec*/ /*@destruct.after_available*/\n"
      << "\tcomplete(&po->skb_completion);\n"
      << "} /*@destruct.end*/\n\n";
  } else {
    s << "static void tpacket_destruct_skb(struct sk_buff *skb) /*@destruct.start*/\n{\n"
      << "\tstruct packet_sock *po = pkt_sk(skb->sk);\n\n\tif (likely(po->tx_ring.pg_vec)) {\n"
      << "\t\tvoid *ph = arg(skb);\n\t\t__u32 ts;\n\n"
      << "\t\t" << dec << " /*@destruct.pending_dec*/\n"
      << "\t\tts = stamp(po, ph, skb);\n"
      << "\t\t__packet_set_status(po, ph, TP_STATUS_AVAILABLE | ts); /*@destruct.set_available*/\n"
      << "\t}\n\tsock_wfree(skb); /*@destruct.after_available*/\n} /*@destruct.end*/\n\n";
  }

  s << "static int tpacket_snd(struct packet_sock *po, struct msghdr *msg) /*@snd.start*/\n"
    << (e.annotated_defs ? "\t__must_hold(&po->pg_vec_lock) __attribute__((noinline))\n" : "")
    << "{\n"
    << "\tint err, len_sum = 0, tp_len, size_max, reserve = 0;\n\tvoid *ph;\n"
    << "\tstruct sk_buff *skb = NULL;\n\tconst char *why = \"if (unlikely(ph == NULL)) {\";\n\n"
    << "\tmutex_lock(&po->pg_vec_lock);\n\tsize_max = frame_size(po);\n";
  if (e.clamp_vlan)
    s << "\tif ((size_max > dev->mtu + reserve + VLAN_HLEN) && /*@snd.size_max_clamp*/\n"
      << "\t    !has_vnet_hdr(po))\n\t\tsize_max = dev->mtu + reserve + VLAN_HLEN;\n\n";
  else
    s << "\tif (size_max > dev->mtu + reserve) /*@snd.size_max_clamp*/\n"
      << "\t\tsize_max = dev->mtu + reserve;\n\n";
  s << "\tdo {\n\t\tph = packet_current_frame(po, &po->tx_ring,\n\t\t\t\tTP_STATUS_SEND_REQUEST);\n"
    << "\t\tif (unlikely(ph == NULL)) { /*@snd.ph_check*/\n";
  switch (e.wait) {
  case Era::Wait::schedule:
    s << "\t\t\tschedule(); /*@snd.wait*/\n\t\t\tcontinue; /*@snd.wait_continue*/\n";
    break;
  case Era::Wait::schedule_resched:
    s << "\t\t\tif (need_wait && need_resched())\n\t\t\t\tschedule(); /*@snd.wait*/\n"
      << "\t\t\tcontinue; /*@snd.wait_continue*/\n";
    break;
  case Era::Wait::completion_skb:
    s << "\t\t\tif (need_wait && skb) {\n\t\t\t\ttimeo = sock_sndtimeo(&po->sk, 0);\n"
      << "\t\t\t\ttimeo = wait_for_completion_interruptible_timeout(&po->skb_completion, timeo); "
         "/*@snd.wait*/\n"
      << "\t\t\t\tif (timeo <= 0) {\n\t\t\t\t\terr = -ETIMEDOUT;\n\t\t\t\t\tgoto "
         "out_put;\n\t\t\t\t}\n"
      << "\t\t\t}\n\t\t\t/* check for additional frames; continue; */\n"
      << "\t\t\tcontinue; /*@snd.wait_continue*/\n";
    break;
  case Era::Wait::completion_pending:
    s << "\t\t\tif (need_wait && packet_read_pending(&po->tx_ring)) {\n"
      << "\t\t\t\ttimeo = wait_for_completion_interruptible_timeout(&po->skb_completion, timeo); "
         "/*@snd.wait*/\n"
      << "\t\t\t\tif (timeo <= 0) {\n\t\t\t\t\terr = -ERESTARTSYS;\n\t\t\t\t\tgoto "
         "out_put;\n\t\t\t\t}\n"
      << "\t\t\t\tcontinue; /*@snd.wait_continue*/\n\t\t\t}";
    if (!e.else_break)
      s << "\n";
    else if (e.else_brace)
      s << " else {\n\t\t\t\tbreak;\n\t\t\t}\n";
    else
      s << " else\n\t\t\t\tbreak;\n";
    break;
  }
  s << "\t\t}\n\n\t\tskb = NULL;\n"
    << "\t\tskb = sock_alloc_send_skb(&po->sk,\n\t\t\t\thlen + tlen,\n\t\t\t\t!need_wait, "
       "&err);\n\n";
  if (e.alloc_fail_single)
    s << "\t\tif (unlikely(skb == NULL))\n\t\t\tgoto out_status; /*@snd.alloc_failed*/\n";
  else
    s << "\t\tif (unlikely(skb == NULL)) {\n\t\t\tif (likely(len_sum > 0))\n\t\t\t\terr = "
         "len_sum;\n"
      << "\t\t\tgoto out_status; /*@snd.alloc_failed*/\n\t\t}\n";
  s << "\t\ttp_len = fill(po, skb, ph);\n\t\tif (unlikely(tp_len < 0)) {\n"
    << "\t\t\tgoto out_status;\n\t\t}\n"
    << "\t\t__packet_set_status(po, ph, TP_STATUS_SENDING); /*@snd.set_sending*/\n"
    << "\t\terr = " << e.xmit << ";\n";
  if (e.xmit_err_positive)
    s << "\t\tif (unlikely(err > 0)) { /*@snd.after_xmit*/\n\t\t\terr = net_xmit_errno(err);\n";
  else
    s << "\t\tif (unlikely(err != 0)) { /*@snd.after_xmit*/\n\t\t\tif (err > 0)\n"
      << "\t\t\t\terr = net_xmit_errno(err);\n";
  s << "\t\t\tif (err && __packet_get_status(po, ph) == TP_STATUS_AVAILABLE) {\n"
    << "\t\t\t\tskb = NULL; /*@snd.already_destructed*/\n\t\t\t\tgoto out_status;\n\t\t\t}\n"
    << "\t\t\terr = 0; /*@snd.not_destructed*/\n\t\t}\n"
    << "\t\tpacket_increment_head(&po->tx_ring);\n\t\tlen_sum += tp_len; /*@snd.len_sum*/\n";
  if (e.wait == Era::Wait::completion_pending)
    s << "\t} while (1);\n\n";
  else
    s << "\t} while (likely((ph != NULL) ||\n\t\t (need_wait && pending(po))));\n\n";
  s << "\terr = len_sum;" << (e.else_break ? " /*@snd.else_break*/" : "") << "\n\tgoto out_put;\n\n"
    << "out_status:\n\t__packet_set_status(po, ph, status);\n\tkfree_skb(skb);\n"
    << "out_put:\n\tdev_put(dev);\n\tif (err < 0)\n\t\treturn err;\n"
    << "\tmutex_unlock(&po->pg_vec_lock);\n\treturn err; /*@snd.return*/\n} /*@snd.end*/\n\n"
    << "static int packet_sendmsg(struct socket *sock, struct msghdr *msg, size_t len)\n{\n"
    << "\treturn tpacket_snd(pkt_sk(sock->sk), msg);\n}\n";
  return s.str();
}

// anchor name -> line of its marker.
inline std::map<std::string, int> expected_lines(const std::string& text) {
  std::map<std::string, int> out;
  int line = 1;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      continue;
    }
    if (text.compare(i, 3, "/*@") == 0) {
      const size_t end = text.find("*/", i);
      out[text.substr(i + 3, end - i - 3)] = line;
    }
  }
  return out;
}

inline std::map<std::string, Era> eras() {
  using W = Era::Wait;
  std::map<std::string, Era> m;
  m["3.0"] = Era{"3.0", false, false, false, W::schedule, false, "dev_queue_xmit(skb)", true};
  m["3.13"] = Era{"3.13", true, false, false, W::schedule, false, "dev_queue_xmit(skb)", true};
  m["3.18"] = Era{"3.18", true, false, false, W::schedule_resched, false, "po->xmit(skb)", false};
  m["4.14"] =
      Era{"4.14", true, true, false, W::completion_skb, false, "po->xmit(skb)", false, false, true};
  m["5.10"] = Era{"5.10", true,  true, false, W::completion_skb, false, "READ_ONCE(po->xmit)(skb)",
                  false,  false, true};
  m["6.1.158"] =
      Era{"6.1.158", true,  true, true, W::completion_pending, true, "READ_ONCE(po->xmit)(skb)",
          false,     false, true};
  m["6.12.117"] =
      Era{"6.12.117", true, true, true, W::completion_pending, true, "packet_xmit(po, skb)",
          false,      true, true};
  // Shapes of real trees read for the corpus (not their code): msm8996 3.18, msm-4.9, a 4.19
  // vendor tree with the READ_ONCE/WRITE_ONCE backport, and the checkpatch brace style of the
  // 6.16 exit.
  Era v318 = m["3.18"];
  v318.name = "3.18msm";
  v318.alloc_fail_single = v318.xmit_err_positive = v318.snd_prototype = true;
  m[v318.name] = v318;
  m["4.9msm"] = Era{"4.9msm",        true,  false, false, W::completion_skb, false,
                    "po->xmit(skb)", false, false, true};
  m["4.9msm"].snd_prototype = true;
  Era v419 = m["4.14"];
  v419.name = "4.19vendor";
  v419.read_once = v419.vendor_hook = true;
  m[v419.name] = v419;
  Era braces = m["6.12.117"];
  braces.name = "6.16braces";
  braces.else_brace = true;
  m[braces.name] = braces;
  Era annotated = m["6.12.117"];
  annotated.name = "6.12annotated";
  annotated.annotated_defs = true;
  m[annotated.name] = annotated;
  return m;
}

} // namespace harness::probes::synth
