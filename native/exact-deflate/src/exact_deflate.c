/*
 * exact_deflate: the bytes of CPython's `zlib.compress(data)`, made by the system's stock zlib
 * (libz.so.1, the library Debian's python3 links), callable from Node.
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
 * Speed: one deflate stream per Node environment (main thread or worker), reused with
 *   deflateReset(), so a call does no malloc/free of zlib's ~270 KB state; output goes to a
 *   reusable scratch buffer and is copied once into the returned Buffer.
 */
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
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
        BIND(handle, deflateReset) && BIND(handle, deflateEnd) && BIND(handle, deflateBound))) {
    snprintf(lib.error, sizeof lib.error, "%s lacks a deflate symbol", LIBZ_SONAME);
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

/* ---- one deflate stream per Node environment ---- */
/* Output space kept per environment; bigger outputs get a one-off buffer, freed at once. */
enum { SCRATCH_SIZE = 256 * 1024 };

typedef struct {
  zlib_stream strm;
  unsigned char scratch[SCRATCH_SIZE];
} deflater;

static void deflater_free(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  deflater *d = data;
  lib.deflateEnd(&d->strm);
  free(d);
}

static napi_value throw_error(napi_env env, const char *code, const char *message) {
  napi_throw_error(env, code, message);
  return NULL;
}

/* compress(data: Uint8Array): Buffer — the zlib stream zlib.compress(data) returns in CPython. */
static napi_value js_compress(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  deflater *d;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, (void **)&d) != napi_ok) return NULL;

  napi_typedarray_type type;
  size_t length = 0;
  void *input = NULL;
  if (argc < 1 ||
      napi_get_typedarray_info(env, argv[0], &type, &length, &input, NULL, NULL) != napi_ok ||
      type != napi_uint8_array) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "compress() expects a Uint8Array");
    return NULL;
  }

  size_t bound = lib.deflateBound(&d->strm, length);
  unsigned char *out = d->scratch;
  if (bound > SCRATCH_SIZE) {
    out = malloc(bound);
    if (out == NULL) return throw_error(env, "ERR_ZLIB", "out of memory");
  }

  if (lib.deflateReset(&d->strm) != Z_OK) {
    if (out != d->scratch) free(out);
    return throw_error(env, "ERR_ZLIB", "deflateReset failed");
  }
  /* Feed and drain in chunks of at most UINT_MAX, choosing the flush mode per chunk exactly as
     CPython's zlib_compress_impl does, so even >4 GiB inputs would give its bytes. */
  const unsigned char *in_next = input;
  size_t in_left = length;
  unsigned char *out_next = out;
  size_t out_left = bound;
  int rc;
  do {
    if (d->strm.avail_in == 0 && in_left > 0) {
      unsigned int n = in_left > UINT_MAX ? UINT_MAX : (unsigned int)in_left;
      d->strm.next_in = in_next;
      d->strm.avail_in = n;
      in_next += n;
      in_left -= n;
    }
    if (d->strm.avail_out == 0 && out_left > 0) {
      unsigned int n = out_left > UINT_MAX ? UINT_MAX : (unsigned int)out_left;
      d->strm.next_out = out_next;
      d->strm.avail_out = n;
      out_next += n;
      out_left -= n;
    }
    rc = lib.deflate(&d->strm, in_left == 0 ? Z_FINISH : Z_NO_FLUSH);
  } while (rc == Z_OK);

  napi_value result = NULL;
  if (rc != Z_STREAM_END) {
    char message[256];
    snprintf(message, sizeof message, "deflate failed (%d): %s", rc,
             d->strm.msg != NULL ? d->strm.msg : "no message");
    throw_error(env, "ERR_ZLIB", message);
  } else if (napi_create_buffer_copy(env, d->strm.total_out, out, NULL, &result) != napi_ok) {
    result = NULL; /* an exception is pending */
  }
  d->strm.next_in = NULL; /* do not keep pointers into a JS buffer that may be collected */
  d->strm.avail_in = 0;
  d->strm.next_out = NULL;
  d->strm.avail_out = 0;
  if (out != d->scratch) free(out);
  return result;
}

static napi_value make_string(napi_env env, const char *text) {
  napi_value value;
  if (napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &value) != napi_ok) return NULL;
  return value;
}

NAPI_MODULE_INIT() {
  pthread_once(&lib_once, load_lib);
  if (lib.error[0] != '\0') return throw_error(env, "ERR_EXACT_DEFLATE_UNAVAILABLE", lib.error);

  deflater *d = calloc(1, sizeof *d);
  if (d == NULL) return throw_error(env, "ERR_ZLIB", "out of memory");
  int rc = lib.deflateInit2_(&d->strm, Z_DEFAULT_COMPRESSION, Z_DEFLATED, MAX_WBITS,
                             DEF_MEM_LEVEL, Z_DEFAULT_STRATEGY, lib.zlibVersion(),
                             (int)sizeof(zlib_stream));
  if (rc != Z_OK) {
    free(d);
    char message[128];
    snprintf(message, sizeof message, "deflateInit2_ failed (%d)", rc);
    return throw_error(env, "ERR_EXACT_DEFLATE_UNAVAILABLE", message);
  }
  if (napi_set_instance_data(env, d, deflater_free, NULL) != napi_ok) {
    lib.deflateEnd(&d->strm);
    free(d);
    return throw_error(env, "ERR_EXACT_DEFLATE_UNAVAILABLE", "napi_set_instance_data failed");
  }

  napi_value compress;
  if (napi_create_function(env, "compress", NAPI_AUTO_LENGTH, js_compress, d, &compress) !=
      napi_ok)
    return NULL;
  napi_property_descriptor props[] = {
      {"compress", NULL, NULL, NULL, NULL, compress, napi_enumerable, NULL},
      {"zlibVersion", NULL, NULL, NULL, NULL, make_string(env, lib.zlibVersion()), napi_enumerable,
       NULL},
      {"libraryPath", NULL, NULL, NULL, NULL, make_string(env, lib.path), napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok)
    return NULL;
  return exports;
}
