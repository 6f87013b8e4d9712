{
  # One C file, plain Node-API, no link against libz: the system zlib is dlopen()ed at load time
  # (see src/exact_deflate.c for why linking -lz would silently use Node's own Chromium zlib).
  "targets": [
    {
      "target_name": "exact_deflate",
      "sources": ["src/exact_deflate.c"],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"],
      "cflags": ["-std=c11", "-O2", "-Wall", "-Wextra", "-fvisibility=hidden"],
      "libraries": ["-ldl"]
    }
  ]
}
