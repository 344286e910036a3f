/*
 * packetStats(fd): the kernel's counters of a Linux packet socket (getsockopt PACKET_STATISTICS),
 * the numbers libpcap's pcap_stats reports on Linux, which cap 0.2.1 does not expose. Reading
 * them resets them (the kernel's semantics): the caller adds them up. `packets` counts the frames
 * that passed the socket's filter, dropped ones included; `drops` the frames lost because the
 * ring was full. See src/capture/live-capture.ts for how the socket of a cap handle is found.
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#ifdef __linux__
#include <linux/if_packet.h>
#include <sys/socket.h>
#endif

static napi_value packet_stats(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok) {
    napi_throw_type_error(env, NULL, "packetStats(fd): fd must be an integer");
    return NULL;
  }
#ifdef __linux__
  /* A TPACKET_V3 socket answers with tpacket_stats_v3, whose first two fields are these. */
  struct tpacket_stats st;
  socklen_t len = sizeof st;
  if (getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) != 0) {
    char message[160];
    snprintf(message, sizeof message, "getsockopt(PACKET_STATISTICS) on fd %d: %s", fd, strerror(errno));
    napi_throw_error(env, NULL, message);
    return NULL;
  }
  napi_value out, packets, drops;
  napi_create_object(env, &out);
  napi_create_uint32(env, st.tp_packets, &packets);
  napi_create_uint32(env, st.tp_drops, &drops);
  napi_set_named_property(env, out, "packets", packets);
  napi_set_named_property(env, out, "drops", drops);
  return out;
#else
  napi_throw_error(env, NULL, "packet socket statistics are read on Linux only");
  return NULL;
#endif
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "packetStats", NAPI_AUTO_LENGTH, packet_stats, NULL, &fn);
  napi_set_named_property(env, exports, "packetStats", fn);
  return exports;
}
