/*
 * exact_deflate: the bytes of CPython's `zlib.compress(data)`, made by the system's stock zlib
 * (libz.so.1, the library Debian's python3 links), callable from Node; and `zlib.decompress(data)`
 * on the same library, because Node's inflateSync costs several microseconds per call in setup.
 *
 * Why dlopen() and not `-lz`:
 *   The `node` executable exports its bundled Chromium zlib under the standard names (deflate,
 *   deflateInit2_, deflateResetKeep, adler32, compress2, ...). An addon linked with -lz has those
 *   names resolved in the global scope, where the executable comes first, so it silently runs
 *   Chromium's deflate and gets Chromium's bytes. dlsym() on a handle is not enough either:
 *   libz.so.1 calls its own exported functions through its PLT (deflateReset -> deflateResetKeep,
 *   compress2 -> deflate, read_buf -> adler32), and those calls would also bind to node's copies,
 *   whose internal state has a different layout. RTLD_DEEPBIND makes libz resolve its own
 *   symbols before the global scope; RTLD_LOCAL keeps its symbols out of everyone else's way.
 *   DEEPBIND only takes effect when we are the ones who load libz.so.1, so we refuse to run if it
 *   is already in the process (then the JS side falls back to pako, which is also exact).
 *
 * Why no <zlib.h>:
 *   node-gyp puts Node's headers first on the include path and they ship Chromium's zlib.h.
 *   We declare the small, decades-stable part of the zlib 1.x ABI we use instead; deflateInit2_
 *   checks sizeof(z_stream), so a layout mismatch fails loudly with Z_VERSION_ERROR.
 *   As a bonus, building needs no zlib1g-dev; only the runtime libz.so.1.
 *
 * Speed: one deflate and one inflate stream per Node environment (main thread or worker), reused
 *   with deflateReset()/inflateReset(), so a call does no malloc/free of zlib's state (~270 KB for
 *   deflate). Output goes to a per-environment scratch ArrayBuffer that JS can see (`scratch`), and
 *   the functions return just its length: JS copies it into a pooled Buffer.allocUnsafe() slice,
 *   which for session-sized data is much cheaper than a new Buffer made here. Only output larger
 *   than the scratch buffer comes back as a Buffer.
 */
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <node_api.h>

#define LIBZ_SONAME "libz.so.1"

/* ---- the part of the zlib 1.x ABI we use (zlib.h, unchanged since 1.0) ---- */
typedef struct {
  const unsigned char *next_in;
  unsigned int avail_in;
  unsigned long total_in;
  unsigned char *next_out;
  unsigned int avail_out;
  unsigned long total_out;
  const char *msg;
  void *state;
  void *(*zalloc)(void *opaque, unsigned int items, unsigned int size);
  void (*zfree)(void *opaque, void *address);
  void *opaque;
  int data_type;
  unsigned long adler;
  unsigned long reserved;
} zlib_stream;

enum {
  Z_OK = 0,
  Z_STREAM_END = 1,
  Z_NEED_DICT = 2,
  Z_STREAM_ERROR = -2,
  Z_DATA_ERROR = -3,
  Z_MEM_ERROR = -4,
  Z_BUF_ERROR = -5,
  Z_NO_FLUSH = 0,
  Z_FINISH = 4,
  Z_DEFLATED = 8,
  Z_DEFAULT_COMPRESSION = -1, /* what zlib.compress(data) passes; zlib maps it to level 6 */
  Z_DEFAULT_STRATEGY = 0,
  MAX_WBITS = 15,             /* zlib.compress's default wbits: zlib container, 32 KB window */
  DEF_MEM_LEVEL = 8,          /* CPython's zlibmodule.c DEF_MEM_LEVEL (also compress2's) */
};

/* ---- the library, loaded once per process ---- */
static struct {
  const char *(*zlibVersion)(void);
  int (*deflateInit2_)(zlib_stream *strm, int level, int method, int windowBits, int memLevel,
                       int strategy, const char *version, int stream_size);
  int (*deflate)(zlib_stream *strm, int flush);
  int (*deflateReset)(zlib_stream *strm);
  int (*deflateEnd)(zlib_stream *strm);
  unsigned long (*deflateBound)(zlib_stream *strm, unsigned long sourceLen);
  int (*inflateInit2_)(zlib_stream *strm, int windowBits, const char *version, int stream_size);
  int (*inflate)(zlib_stream *strm, int flush);
  int (*inflateReset)(zlib_stream *strm);
  int (*inflateEnd)(zlib_stream *strm);
  char path[PATH_MAX]; /* the file the functions really live in (from dladdr) */
  char error[512];     /* non-empty when loading failed */
} lib;

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;

/* POSIX-sanctioned way to turn dlsym's void* into a function pointer without a pedantic warning. */
#define BIND(handle, name) \
  (*(void **)(&lib.name) = dlsym((handle), #name), lib.name != NULL)

static void load_lib(void) {
#ifndef RTLD_DEEPBIND
  snprintf(lib.error, sizeof lib.error,
           "RTLD_DEEPBIND is not available on this platform, cannot isolate the system zlib");
#else
  void *existing = dlopen(LIBZ_SONAME, RTLD_NOW | RTLD_NOLOAD);
  if (existing != NULL) {
    dlclose(existing);
    snprintf(lib.error, sizeof lib.error,
             "%s was already loaded without RTLD_DEEPBIND; its internal calls may bind to node's "
             "bundled zlib", LIBZ_SONAME);
    return;
  }
  void *handle = dlopen(LIBZ_SONAME, RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
  if (handle == NULL) {
    const char *why = dlerror();
    snprintf(lib.error, sizeof lib.error, "dlopen(%s) failed: %s", LIBZ_SONAME,
             why != NULL ? why : "unknown error");
    return;
  }
  if (!(BIND(handle, zlibVersion) && BIND(handle, deflateInit2_) && BIND(handle, deflate) &&
        BIND(handle, deflateReset) && BIND(handle, deflateEnd) && BIND(handle, deflateBound) &&
        BIND(handle, inflateInit2_) && BIND(handle, inflate) && BIND(handle, inflateReset) &&
        BIND(handle, inflateEnd))) {
    snprintf(lib.error, sizeof lib.error, "%s lacks a deflate/inflate symbol", LIBZ_SONAME);
    dlclose(handle);
    return;
  }
  const char *version = lib.zlibVersion();
  if (version == NULL || strncmp(version, "1.", 2) != 0) {
    snprintf(lib.error, sizeof lib.error, "%s reports version %s; only the zlib 1.x ABI is known",
             LIBZ_SONAME, version != NULL ? version : "(null)");
    dlclose(handle);
    return;
  }
  Dl_info info;
  if (dladdr(*(void **)(&lib.deflate), &info) != 0 && info.dli_fname != NULL) {
    snprintf(lib.path, sizeof lib.path, "%s", info.dli_fname);
  }
  /* The handle stays open for the life of the process: the function pointers point into it. */
#endif
}

/* ---- per Node environment: one deflate stream, one inflate stream, one scratch buffer ---- */
/* Output space kept per environment; bigger outputs get a one-off buffer, freed at once. */
enum { SCRATCH_SIZE = 256 * 1024 };

typedef struct {
  zlib_stream deflater;
  zlib_stream inflater;
  /* The backing store of a JS ArrayBuffer (exported as `scratch`, pinned by scratch_ref). V8 never
     moves a backing store, and calls are synchronous, so both streams can write here in turn. */
  unsigned char *scratch;
  napi_ref scratch_ref;
} env_state;

static void env_state_free(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  env_state *st = data;
  lib.deflateEnd(&st->deflater);
  lib.inflateEnd(&st->inflater);
  free(st); /* scratch_ref goes with the environment */
}

static napi_value throw_error(napi_env env, const char *code, const char *message) {
  napi_throw_error(env, code, message);
  return NULL;
}

/* Point data and length at the Uint8Array in argv[0]; if it is not one, return 0 (TypeError
   pending). */
static int get_bytes(napi_env env, size_t argc, napi_value *argv, const char *fn, void **data,
                     size_t *length) {
  napi_typedarray_type type;
  if (argc < 1 ||
      napi_get_typedarray_info(env, argv[0], &type, length, data, NULL, NULL) != napi_ok ||
      type != napi_uint8_array) {
    char message[64];
    snprintf(message, sizeof message, "%s() expects a Uint8Array", fn);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
    return 0;
  }
  return 1;
}

/* Give input to a stream in chunks of at most UINT_MAX (its avail_in is 32-bit). */
static void feed(zlib_stream *strm, const unsigned char **next, size_t *left) {
  if (strm->avail_in == 0 && *left > 0) {
    unsigned int n = *left > UINT_MAX ? UINT_MAX : (unsigned int)*left;
    strm->next_in = *next;
    strm->avail_in = n;
    *next += n;
    *left -= n;
  }
}

/* Do not keep pointers into JS buffers that may be collected. */
static void detach(zlib_stream *strm) {
  strm->next_in = NULL;
  strm->avail_in = 0;
  strm->next_out = NULL;
  strm->avail_out = 0;
}

/* The result of a call: the length of the output in scratch, or a Buffer holding it. NULL with an
   exception pending on failure. */
static napi_value output_value(napi_env env, env_state *st, const unsigned char *out, size_t length) {
  napi_value result;
  napi_status status = out == st->scratch
                           ? napi_create_uint32(env, (uint32_t)length, &result)
                           : napi_create_buffer_copy(env, length, out, NULL, &result);
  return status == napi_ok ? result : NULL;
}

/* compress(data: Uint8Array): number | Buffer — the zlib stream zlib.compress(data) returns in
   CPython: its length in `scratch`, or a Buffer when it is larger than that. */
static napi_value js_compress(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  env_state *st;
  void *input = NULL;
  size_t length = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, (void **)&st) != napi_ok) return NULL;
  if (!get_bytes(env, argc, argv, "compress", &input, &length)) return NULL;
  zlib_stream *strm = &st->deflater;

  size_t bound = lib.deflateBound(strm, length);
  unsigned char *out = st->scratch;
  if (bound > SCRATCH_SIZE) {
    out = malloc(bound);
    if (out == NULL) return throw_error(env, "Z_MEM_ERROR", "out of memory");
  }
  if (lib.deflateReset(strm) != Z_OK) {
    if (out != st->scratch) free(out);
    return throw_error(env, "Z_STREAM_ERROR", "deflateReset failed");
  }
  /* Choose the flush mode per input chunk exactly as CPython's zlib_compress_impl does, so even
     inputs over 4 GiB would give its bytes. The output buffer holds deflateBound(), so deflate
     never runs out of room. */
  const unsigned char *in_next = input;
  size_t in_left = length;
  const unsigned char *out_next = out;
  size_t out_left = bound;
  int rc;
  do {
    feed(strm, &in_next, &in_left);
    if (strm->avail_out == 0 && out_left > 0) {
      unsigned int n = out_left > UINT_MAX ? UINT_MAX : (unsigned int)out_left;
      strm->next_out = (unsigned char *)out_next;
      strm->avail_out = n;
      out_next += n;
      out_left -= n;
    }
    rc = lib.deflate(strm, in_left == 0 ? Z_FINISH : Z_NO_FLUSH);
  } while (rc == Z_OK);

  napi_value result = NULL;
  if (rc != Z_STREAM_END) {
    char message[256];
    snprintf(message, sizeof message, "deflate failed (%d): %s", rc,
             strm->msg != NULL ? strm->msg : "no message");
    throw_error(env, rc == Z_MEM_ERROR ? "Z_MEM_ERROR" : "Z_STREAM_ERROR", message);
  } else {
    result = output_value(env, st, out, strm->total_out);
  }
  detach(strm);
  if (out != st->scratch) free(out);
  return result;
}

/*
 * decompress(data: Uint8Array, maxOutputLength: number): number | Buffer (as compress) —
 * CPython's zlib.decompress(data):
 * wbits 15, bytes after the end of the stream ignored, "incomplete or truncated stream" when the
 * input ends first. Output beyond maxOutputLength is never produced: inflation stops at
 * maxOutputLength + 1 bytes and throws. Errors carry Node's zlib codes (Z_DATA_ERROR, Z_BUF_ERROR
 * for truncation, Z_NEED_DICT, Z_MEM_ERROR) or ERR_BUFFER_TOO_LARGE.
 */
static napi_value js_decompress(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  env_state *st;
  void *input = NULL;
  size_t length = 0;
  int64_t max_output = -1;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, (void **)&st) != napi_ok) return NULL;
  if (!get_bytes(env, argc, argv, "decompress", &input, &length)) return NULL;
  if (argc < 2 || napi_get_value_int64(env, argv[1], &max_output) != napi_ok || max_output < 0) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE",
                           "decompress() expects maxOutputLength, a non-negative integer");
    return NULL;
  }
  zlib_stream *strm = &st->inflater;
  if (lib.inflateReset(strm) != Z_OK) {
    return throw_error(env, "Z_STREAM_ERROR", "inflateReset failed");
  }

  /* Room for one byte past the limit: producing it is how a too-large output is detected. */
  size_t want = (uint64_t)max_output >= SIZE_MAX ? SIZE_MAX : (size_t)max_output + 1;
  unsigned char *out = st->scratch;
  size_t capacity = want < SCRATCH_SIZE ? want : SCRATCH_SIZE;
  const unsigned char *in_next = input;
  size_t in_left = length;
  size_t produced = 0;
  const char *code = NULL;
  const char *message = NULL;
  for (;;) {
    feed(strm, &in_next, &in_left);
    size_t room = capacity - produced;
    strm->next_out = out + produced;
    strm->avail_out = room > UINT_MAX ? UINT_MAX : (unsigned int)room;
    unsigned int offered = strm->avail_out;
    int rc = lib.inflate(strm, Z_NO_FLUSH);
    produced += offered - strm->avail_out;
    if (produced > (uint64_t)max_output) {
      code = "ERR_BUFFER_TOO_LARGE";
      message = "decompressed data exceeds maxOutputLength";
      break;
    }
    if (rc == Z_STREAM_END) break;
    if (rc == Z_NEED_DICT) {
      code = "Z_NEED_DICT";
      message = "stream needs a preset dictionary";
      break;
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      code = rc == Z_MEM_ERROR ? "Z_MEM_ERROR" : "Z_DATA_ERROR";
      message = strm->msg != NULL ? strm->msg : "invalid zlib stream";
      break;
    }
    if (strm->avail_in == 0 && in_left == 0 && strm->avail_out > 0) {
      code = "Z_BUF_ERROR"; /* input used up, stream not finished: what CPython calls error -5 */
      message = "incomplete or truncated stream";
      break;
    }
    if (produced == capacity) { /* out of room, below the limit: grow towards `want` */
      size_t grown = capacity > (want - capacity) ? want : capacity * 2;
      unsigned char *bigger = out == st->scratch ? malloc(grown) : realloc(out, grown);
      if (bigger == NULL) {
        code = "Z_MEM_ERROR";
        message = "out of memory";
        break;
      }
      if (out == st->scratch) memcpy(bigger, out, produced);
      out = bigger;
      capacity = grown;
    }
  }

  napi_value result = NULL;
  if (code != NULL) {
    throw_error(env, code, message);
  } else {
    result = output_value(env, st, out, produced);
  }
  detach(strm);
  if (out != st->scratch) free(out);
  return result;
}

static napi_value make_string(napi_env env, const char *text) {
  napi_value value;
  if (napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &value) != napi_ok) return NULL;
  return value;
}

static napi_value make_function(napi_env env, const char *name, napi_callback cb, void *data) {
  napi_value fn;
  if (napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, data, &fn) != napi_ok) return NULL;
  return fn;
}

NAPI_MODULE_INIT() {
  pthread_once(&lib_once, load_lib);
  if (lib.error[0] != '\0') return throw_error(env, "ERR_EXACT_DEFLATE_UNAVAILABLE", lib.error);

  env_state *st = calloc(1, sizeof *st);
  if (st == NULL) return throw_error(env, "Z_MEM_ERROR", "out of memory");
  int rc = lib.deflateInit2_(&st->deflater, Z_DEFAULT_COMPRESSION, Z_DEFLATED, MAX_WBITS,
                             DEF_MEM_LEVEL, Z_DEFAULT_STRATEGY, lib.zlibVersion(),
                             (int)sizeof(zlib_stream));
  if (rc == Z_OK) {
    rc = lib.inflateInit2_(&st->inflater, MAX_WBITS, lib.zlibVersion(), (int)sizeof(zlib_stream));
    if (rc != Z_OK) lib.deflateEnd(&st->deflater);
  }
  if (rc != Z_OK) {
    free(st);
    char message[128];
    snprintf(message, sizeof message, "deflateInit2_/inflateInit2_ failed (%d)", rc);
    return throw_error(env, "ERR_EXACT_DEFLATE_UNAVAILABLE", message);
  }
  if (napi_set_instance_data(env, st, env_state_free, NULL) != napi_ok) {
    env_state_free(env, st, NULL);
    return throw_error(env, "ERR_EXACT_DEFLATE_UNAVAILABLE", "napi_set_instance_data failed");
  }
  napi_value scratch;
  if (napi_create_arraybuffer(env, SCRATCH_SIZE, (void **)&st->scratch, &scratch) != napi_ok ||
      napi_create_reference(env, scratch, 1, &st->scratch_ref) != napi_ok)
    return NULL;

  napi_property_descriptor props[] = {
      {"compress", NULL, NULL, NULL, NULL, make_function(env, "compress", js_compress, st),
       napi_enumerable, NULL},
      {"decompress", NULL, NULL, NULL, NULL, make_function(env, "decompress", js_decompress, st),
       napi_enumerable, NULL},
      {"zlibVersion", NULL, NULL, NULL, NULL, make_string(env, lib.zlibVersion()), napi_enumerable,
       NULL},
      {"libraryPath", NULL, NULL, NULL, NULL, make_string(env, lib.path), napi_enumerable, NULL},
      {"scratch", NULL, NULL, NULL, NULL, scratch, napi_enumerable, NULL},
  };
  for (size_t i = 0; i < sizeof props / sizeof props[0]; i++) {
    if (props[i].value == NULL) return NULL; /* an exception is pending */
  }
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok)
    return NULL;
  return exports;
}
