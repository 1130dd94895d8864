{
  "targets": [
    {
      "target_name": "qis_edge",
      "sources": [
        "native/addon.c",
        "native/crc32c.c",
        "native/encode.c",
        "native/murmur3.c",
        "native/notify.c",
        "native/store.c",
        "native/synth.c",
        "native/verify.c"
      ],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-O3", "-Wall", "-Wextra", "-fvisibility=hidden", "-ffp-contract=off"],
      "cflags_c": ["-std=c99"],
      "xcode_settings": {
        "GCC_C_LANGUAGE_STANDARD": "c99",
        "GCC_OPTIMIZATION_LEVEL": "3",
        "OTHER_CFLAGS": ["-Wall", "-Wextra", "-fvisibility=hidden", "-ffp-contract=off"]
      }
    }
  ]
}
