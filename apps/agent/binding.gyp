{
  "targets": [
    {
      "target_name": "packet_stats",
      "sources": ["native/packet-stats.c"]
    }
  ]
}
