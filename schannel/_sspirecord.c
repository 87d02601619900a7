/* schannel._sspirecord: the record kernel of EncryptMessage and DecryptMessage
 * (schannel/secur32.py), optional -- without it the same calls are made through ctypes.
 *
 * It includes no OpenSSL header and links against no OpenSSL: the process already has the
 * libssl/libcrypto schannel.tls loaded through ctypes (possibly not the one Python's _ssl
 * uses), and init() is handed the addresses of the functions used here from those very
 * libraries; the prototypes and constants below are OpenSSL 3's, written out. Buffers come
 * through the buffer protocol (the caller's memoryviews); the GIL is released around
 * SSL_write and SSL_read (the cipher work; a callback into Python takes it back itself).
 *
 * What C adds beyond fewer calls: for the one SSL_write (SSL_read) a "direct" BIO takes
 * the place of the context's memory wbio (rbio), so the record goes straight into the
 * caller's send buffer (is read where it lies in the receive buffer) -- a memory BIO would
 * clear room, copy the record in and copy it out again.
 *
 * Python keeps every SecBuffer check and every status: seal() and open() return numbers
 * that secur32.py turns into the SecBuffers and SEC_E_* codes.
 *
 * step() is one handshake call's OpenSSL work (the input records into the memory rbio,
 * SSL_do_handshake, both BIOs drained, SSL_get_error): the seven calls ctypes would make,
 * in one. Python keeps the record scan, the states and the SEC_* status.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The prototypes of OpenSSL 3's ssl.h and bio.h, written out, and the constants used. */
typedef int (*ssl_write_fn)(void *ssl, const void *buf, int num);
typedef int (*ssl_read_fn)(void *ssl, void *buf, int num);
typedef int (*ssl_in_init_fn)(const void *ssl);
typedef void (*ssl_set0_bio_fn)(void *ssl, void *bio);
typedef int (*bio_write_fn)(void *bio, const void *buf, int len);
typedef int (*bio_read_fn)(void *bio, void *buf, int len);
typedef size_t (*bio_pending_fn)(void *bio);
typedef int (*bio_get_new_index_fn)(void);
typedef void *(*bio_meth_new_fn)(int type, const char *name);
typedef int (*bio_meth_set_write_fn)(void *method, int (*write)(void *, const char *, int));
typedef int (*bio_meth_set_read_fn)(void *method, int (*read)(void *, char *, int));
typedef int (*bio_meth_set_ctrl_fn)(void *method, long (*ctrl)(void *, int, long, void *));
typedef void *(*bio_new_fn)(const void *method);
typedef int (*bio_free_fn)(void *bio);
typedef int (*bio_up_ref_fn)(void *bio);
typedef void (*bio_set_data_fn)(void *bio, void *data);
typedef void *(*bio_get_data_fn)(void *bio);
typedef void (*bio_set_init_fn)(void *bio, int init);
typedef void (*bio_flags_fn)(void *bio, int flags);
typedef int (*ssl_do_handshake_fn)(void *ssl);
typedef int (*ssl_get_error_fn)(const void *ssl, int ret);
typedef void (*err_clear_error_fn)(void);

#define BIO_TYPE_SOURCE_SINK 0x0400
#define BIO_FLAGS_READ 0x01
#define BIO_FLAGS_RWS 0x07
#define BIO_FLAGS_SHOULD_RETRY 0x08
#define BIO_CTRL_EOF 2
#define BIO_CTRL_PENDING 10
#define BIO_CTRL_FLUSH 11
#define BIO_CTRL_WPENDING 13

static struct {
    ssl_write_fn SSL_write;
    ssl_read_fn SSL_read;
    ssl_in_init_fn SSL_in_init;
    ssl_set0_bio_fn SSL_set0_rbio, SSL_set0_wbio;
    bio_write_fn BIO_write;
    bio_read_fn BIO_read;
    bio_pending_fn BIO_ctrl_pending;
    bio_get_new_index_fn BIO_get_new_index;
    bio_meth_new_fn BIO_meth_new;
    bio_meth_set_write_fn BIO_meth_set_write;
    bio_meth_set_read_fn BIO_meth_set_read;
    bio_meth_set_ctrl_fn BIO_meth_set_ctrl;
    bio_new_fn BIO_new;
    bio_free_fn BIO_free;
    bio_up_ref_fn BIO_up_ref;
    bio_set_data_fn BIO_set_data;
    bio_get_data_fn BIO_get_data;
    bio_set_init_fn BIO_set_init;
    bio_flags_fn BIO_set_flags, BIO_clear_flags;
    ssl_do_handshake_fn SSL_do_handshake;
    ssl_get_error_fn SSL_get_error;
    err_clear_error_fn ERR_clear_error;
} f;

static const char *const f_names[] = {
    "SSL_write", "SSL_read", "SSL_in_init", "SSL_set0_rbio", "SSL_set0_wbio", "BIO_write",
    "BIO_read", "BIO_ctrl_pending", "BIO_get_new_index", "BIO_meth_new", "BIO_meth_set_write",
    "BIO_meth_set_read", "BIO_meth_set_ctrl", "BIO_new", "BIO_free", "BIO_up_ref",
    "BIO_set_data", "BIO_get_data", "BIO_set_init", "BIO_set_flags", "BIO_clear_flags",
    "SSL_do_handshake", "SSL_get_error", "ERR_clear_error",
};
#define F_COUNT (sizeof f_names / sizeof f_names[0])
_Static_assert(sizeof f == F_COUNT * sizeof(void *), "one name per function pointer");

static void *direct_method; /* the BIO_METHOD of the direct BIOs, made by init() */

/* seal()'s and open()'s answers other than a length. */
#define R_FAILED (-1)      /* SSL_write wrote less than asked (or no whole record) */
#define R_TOO_SMALL (-2)   /* the record's trailer does not fit the trailer buffer */
#define R_NOT_HANDLED (-3) /* not writable contiguous bytes in memoryviews: Python's path */
#define R_BIO_WRITE (-4)   /* BIO_write took less than the record */

/* A direct BIO: for the length of one SSL_write it is the SSL's wbio and takes the record
 * straight into the caller's buffer (a memory BIO would take a cleared copy to be read out
 * again); for one SSL_read it is the rbio and hands OpenSSL the caller's record where it
 * lies. Outside those calls no SSL holds it. What does not fit goes to the context's own
 * memory BIO (``spill``), in order, so the byte stream is the one the memory BIOs carry. */
struct direct {
    char *buf;
    size_t cap;  /* writing: room at buf; reading: the record's length */
    size_t used; /* writing: bytes written to buf; reading: bytes handed to OpenSSL */
    void *spill; /* writing: the context's memory wbio, for what does not fit */
    int overflow;
};

static int
direct_write(void *bio, const char *in, int len)
{
    struct direct *d = f.BIO_get_data(bio);
    f.BIO_clear_flags(bio, BIO_FLAGS_RWS | BIO_FLAGS_SHOULD_RETRY);
    if (len <= 0 || d == NULL)
        return 0;
    if (!d->overflow && d->spill != NULL && d->cap - d->used >= (size_t)len) {
        memcpy(d->buf + d->used, in, (size_t)len);
        d->used += (size_t)len;
        return len;
    }
    d->overflow = 1;
    return d->spill != NULL ? f.BIO_write(d->spill, in, len) : -1;
}

static int
direct_read(void *bio, char *out, int len)
{
    struct direct *d = f.BIO_get_data(bio);
    f.BIO_clear_flags(bio, BIO_FLAGS_RWS | BIO_FLAGS_SHOULD_RETRY);
    size_t left = d != NULL ? d->cap - d->used : 0;
    if (len <= 0)
        return 0;
    if (left == 0) { /* as an empty memory BIO: "try again" */
        f.BIO_set_flags(bio, BIO_FLAGS_READ | BIO_FLAGS_SHOULD_RETRY);
        return -1;
    }
    if ((size_t)len > left)
        len = (int)left;
    memcpy(out, d->buf + d->used, (size_t)len);
    d->used += (size_t)len;
    return len;
}

static long
direct_ctrl(void *bio, int cmd, long num, void *ptr)
{
    struct direct *d = f.BIO_get_data(bio);
    size_t left = d != NULL && d->spill == NULL ? d->cap - d->used : 0;
    switch (cmd) {
    case BIO_CTRL_PENDING:
        return (long)left;
    case BIO_CTRL_EOF:
        return left == 0;
    case BIO_CTRL_FLUSH:
        return 1;
    case BIO_CTRL_WPENDING:
    default:
        return 0;
    }
}

static void *
address(PyObject *value)
{
    return PyLong_AsVoidPtr(value);
}

/* A writable, contiguous, byte-sized view of a memoryview (exactly that type, as the
 * Python path requires); 0 with nothing held otherwise, -1 with an exception set. */
static int
get_view(PyObject *obj, Py_buffer *view)
{
    if (!Py_IS_TYPE(obj, &PyMemoryView_Type) || PyMemoryView_GET_BUFFER(obj)->readonly)
        return 0;
    if (PyObject_GetBuffer(obj, view, PyBUF_WRITABLE | PyBUF_FORMAT | PyBUF_C_CONTIGUOUS) < 0) {
        PyErr_Clear(); /* not contiguous: not this path */
        return 0;
    }
    if (view->itemsize != 1) {
        PyBuffer_Release(view);
        return 0;
    }
    return 1;
}

static PyObject *
sspirecord_init(PyObject *self, PyObject *addresses)
{
    void *table[F_COUNT];

    if (!PyDict_Check(addresses)) {
        PyErr_SetString(PyExc_TypeError, "init() takes a dict of function addresses");
        return NULL;
    }
    for (size_t i = 0; i < F_COUNT; i++) {
        PyObject *value = PyDict_GetItemString(addresses, f_names[i]);
        if (value == NULL) {
            PyErr_Format(PyExc_KeyError, "init(): no address for %s", f_names[i]);
            return NULL;
        }
        table[i] = address(value);
        if (table[i] == NULL) {
            if (!PyErr_Occurred())
                PyErr_Format(PyExc_ValueError, "init(): %s is NULL", f_names[i]);
            return NULL;
        }
    }
    memcpy(&f, table, sizeof f);
    int index = f.BIO_get_new_index();
    void *method = index > 0 ? f.BIO_meth_new(index | BIO_TYPE_SOURCE_SINK, "SSPI record") : NULL;
    if (method == NULL || !f.BIO_meth_set_write(method, direct_write)
        || !f.BIO_meth_set_read(method, direct_read)
        || !f.BIO_meth_set_ctrl(method, direct_ctrl)) {
        PyErr_SetString(PyExc_RuntimeError, "init(): BIO_meth_new failed");
        return NULL;
    }
    direct_method = method; /* kept for the process: BIOs made from it may outlive a re-init */
    Py_RETURN_NONE;
}

/* new_bio() -> the address of a direct BIO for one context (free_bio() frees it). */
static PyObject *
sspirecord_new_bio(PyObject *self, PyObject *unused)
{
    if (direct_method == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "new_bio(): init() first");
        return NULL;
    }
    void *bio = f.BIO_new(direct_method);
    if (bio == NULL)
        return PyErr_NoMemory();
    f.BIO_set_init(bio, 1);
    return PyLong_FromVoidPtr(bio);
}

static PyObject *
sspirecord_free_bio(PyObject *self, PyObject *arg)
{
    void *bio = address(arg);
    if (bio == NULL)
        return PyErr_Occurred() ? NULL : (PyErr_SetString(PyExc_ValueError, "NULL BIO"), NULL);
    f.BIO_free(bio);
    Py_RETURN_NONE;
}

/* Everything the BIO still holds is read and dropped (a record that did not fit). */
static void
discard(void *bio)
{
    char scratch[4096];
    while (f.BIO_read(bio, scratch, (int)sizeof scratch) > 0)
        ;
}

/* seal(ssl, wbio, direct, header, data, trailer, h, n) -> the trailer's length, or R_*.
 * SSL_write encrypts the first n bytes of ``data`` (n > 0; Python checked n <= len(data)
 * and n <= cbMaximumMessage) into one record laid over the three buffers: h bytes of
 * header, n of data, the rest in the trailer. When the three are contiguous in memory, as
 * a C loop's single send buffer is, OpenSSL writes the record straight into them through
 * the direct BIO; otherwise it goes through the context's memory BIO and is read out
 * piece by piece. */
static PyObject *
sspirecord_seal(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    Py_buffer hb, db, tb;
    void *ssl, *wbio, *dbio;
    Py_ssize_t h, n;
    long result;

    if (nargs != 8) {
        PyErr_SetString(PyExc_TypeError, "seal() takes 8 arguments");
        return NULL;
    }
    ssl = address(args[0]);
    wbio = address(args[1]);
    dbio = address(args[2]);
    h = PyLong_AsSsize_t(args[6]);
    n = PyLong_AsSsize_t(args[7]);
    if (PyErr_Occurred())
        return NULL;
    if (!ssl || !wbio || !dbio || h < 0 || n <= 0 || n > INT_MAX / 2 || h > INT_MAX / 2) {
        PyErr_SetString(PyExc_ValueError, "seal(): bad handle or length");
        return NULL;
    }
    if (!get_view(args[3], &hb))
        return PyErr_Occurred() ? NULL : PyLong_FromLong(R_NOT_HANDLED);
    if (!get_view(args[4], &db)) {
        PyBuffer_Release(&hb);
        return PyErr_Occurred() ? NULL : PyLong_FromLong(R_NOT_HANDLED);
    }
    if (!get_view(args[5], &tb)) {
        PyBuffer_Release(&hb);
        PyBuffer_Release(&db);
        return PyErr_Occurred() ? NULL : PyLong_FromLong(R_NOT_HANDLED);
    }
    if (hb.len < h || db.len < n) {
        result = R_NOT_HANDLED;
        goto done;
    }
    char *base = hb.buf, *data = db.buf, *trailer = tb.buf;
    int contiguous = data == base + h && (tb.len == 0 || trailer == data + n);
    struct direct d = {base, (size_t)(h + n + tb.len), 0, wbio, 0};
    int wrote;
    size_t size;
    if (contiguous && f.BIO_ctrl_pending(wbio) == 0 && !f.SSL_in_init(ssl)) {
        f.BIO_set_data(dbio, &d);
        f.BIO_up_ref(dbio); /* the SSL's reference, dropped when wbio is put back */
        f.BIO_up_ref(wbio); /* kept over SSL_set0_wbio's free */
        f.SSL_set0_wbio(ssl, dbio);
        Py_BEGIN_ALLOW_THREADS
        wrote = f.SSL_write(ssl, data, (int)n);
        Py_END_ALLOW_THREADS
        f.SSL_set0_wbio(ssl, wbio);
        f.BIO_set_data(dbio, NULL);
        if (wrote != n) {
            if (d.used) /* what went out before the failure stays in the stream */
                f.BIO_write(wbio, base, (int)d.used);
            result = R_FAILED;
            goto done;
        }
        size = d.used + f.BIO_ctrl_pending(wbio);
    } else {
        Py_BEGIN_ALLOW_THREADS
        wrote = f.SSL_write(ssl, data, (int)n);
        Py_END_ALLOW_THREADS
        if (wrote != n) {
            result = R_FAILED;
            goto done;
        }
        size = f.BIO_ctrl_pending(wbio);
    }
    if (size < (size_t)(h + n) || size > INT_MAX) { /* not one record: never for n <= 16K */
        discard(wbio);
        result = R_FAILED;
        goto done;
    }
    Py_ssize_t tail = (Py_ssize_t)size - h - n;
    if (tail > tb.len) {
        discard(wbio);
        result = R_TOO_SMALL;
        goto done;
    }
    if (contiguous) {
        if (size > d.used)
            f.BIO_read(wbio, base + d.used, (int)(size - d.used));
    } else {
        if (h)
            f.BIO_read(wbio, base, (int)h);
        f.BIO_read(wbio, data, (int)n);
        if (tail)
            f.BIO_read(wbio, trailer, (int)tail);
    }
    result = (long)tail;
done:
    PyBuffer_Release(&hb);
    PyBuffer_Release(&db);
    PyBuffer_Release(&tb);
    return PyLong_FromLong(result);
}

/* open(ssl, rbio, direct, record, h, length) -> SSL_read's result, or R_*.
 * SSL_read takes the first ``length`` bytes of ``record`` (one whole TLS record; Python
 * checked length <= len(record) and h <= length) and decrypts the plaintext over the
 * record from offset h: DecryptMessage's DATA points into the caller's buffer, as
 * Schannel's does. OpenSSL reads the record where it lies through the direct BIO (it reads
 * all of it before it writes any plaintext) when the context's memory BIO is empty. */
static PyObject *
sspirecord_open(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    Py_buffer rb;
    void *ssl, *rbio, *dbio;
    Py_ssize_t h, length;
    long result;

    if (nargs != 6) {
        PyErr_SetString(PyExc_TypeError, "open() takes 6 arguments");
        return NULL;
    }
    ssl = address(args[0]);
    rbio = address(args[1]);
    dbio = address(args[2]);
    h = PyLong_AsSsize_t(args[4]);
    length = PyLong_AsSsize_t(args[5]);
    if (PyErr_Occurred())
        return NULL;
    if (!ssl || !rbio || !dbio || h < 0 || length < h || length > INT_MAX) {
        PyErr_SetString(PyExc_ValueError, "open(): bad handle or length");
        return NULL;
    }
    if (!get_view(args[3], &rb))
        return PyErr_Occurred() ? NULL : PyLong_FromLong(R_NOT_HANDLED);
    if (rb.len < length) {
        result = R_NOT_HANDLED;
        goto done;
    }
    char *record = rb.buf;
    int got;
    if (f.BIO_ctrl_pending(rbio) == 0 && !f.SSL_in_init(ssl)) {
        struct direct d = {record, (size_t)length, 0, NULL, 0};
        f.BIO_set_data(dbio, &d);
        f.BIO_up_ref(dbio);
        f.BIO_up_ref(rbio);
        f.SSL_set0_rbio(ssl, dbio);
        Py_BEGIN_ALLOW_THREADS
        got = f.SSL_read(ssl, record + h, (int)(length - h));
        Py_END_ALLOW_THREADS
        f.SSL_set0_rbio(ssl, rbio);
        f.BIO_set_data(dbio, NULL);
        if (d.used < (size_t)length) /* not all taken (a failure): the rest stays queued */
            f.BIO_write(rbio, record + d.used, (int)((size_t)length - d.used));
    } else {
        if (f.BIO_write(rbio, record, (int)length) != length) {
            result = R_BIO_WRITE;
            goto done;
        }
        Py_BEGIN_ALLOW_THREADS
        got = f.SSL_read(ssl, record + h, (int)(length - h));
        Py_END_ALLOW_THREADS
    }
    result = got;
done:
    PyBuffer_Release(&rb);
    return PyLong_FromLong(result);
}

/* Everything a memory BIO holds, as bytes (one BIO_read of what it says is pending). */
static PyObject *
drain(void *bio)
{
    size_t pending = f.BIO_ctrl_pending(bio);
    if (pending == 0)
        return PyBytes_FromStringAndSize(NULL, 0);
    if (pending > INT_MAX) {
        PyErr_SetString(PyExc_OverflowError, "step(): more than INT_MAX bytes pending");
        return NULL;
    }
    PyObject *out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)pending);
    if (out == NULL)
        return NULL;
    int got = f.BIO_read(bio, PyBytes_AS_STRING(out), (int)pending);
    if (got < 0)
        got = 0;
    if ((size_t)got != pending && _PyBytes_Resize(&out, got) < 0)
        return NULL;
    return out;
}

/* step(ssl, rbio, wbio, data, n) -> (ret, error, token, held), or None when BIO_write took
 * less than the first n bytes of ``data`` (the complete records Python found).
 * ``ret`` is SSL_do_handshake's answer, ``error`` SSL_get_error's for it (0 when ret is 1),
 * ``token`` what OpenSSL wrote (the wbio drained), ``held`` what it left unread in the
 * rbio. The GIL is released around SSL_do_handshake, as ctypes would; the provider's and
 * the verification callbacks take it back themselves. */
static PyObject *
sspirecord_step(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    Py_buffer data;
    void *ssl, *rbio, *wbio;
    Py_ssize_t n;
    int ret, error;

    if (nargs != 5) {
        PyErr_SetString(PyExc_TypeError, "step() takes 5 arguments");
        return NULL;
    }
    ssl = address(args[0]);
    rbio = address(args[1]);
    wbio = address(args[2]);
    n = PyLong_AsSsize_t(args[4]);
    if (PyErr_Occurred())
        return NULL;
    if (!ssl || !rbio || !wbio || n < 0 || n > INT_MAX) {
        PyErr_SetString(PyExc_ValueError, "step(): bad handle or length");
        return NULL;
    }
    if (PyObject_GetBuffer(args[3], &data, PyBUF_SIMPLE) < 0)
        return NULL;
    if (data.len < n) {
        PyBuffer_Release(&data);
        PyErr_SetString(PyExc_ValueError, "step(): n is longer than the data");
        return NULL;
    }
    int wrote = n ? f.BIO_write(rbio, data.buf, (int)n) : 0;
    PyBuffer_Release(&data);
    if (wrote != n)
        Py_RETURN_NONE;
    f.ERR_clear_error();
    Py_BEGIN_ALLOW_THREADS
    ret = f.SSL_do_handshake(ssl);
    Py_END_ALLOW_THREADS
    PyObject *token = drain(wbio);
    if (token == NULL)
        return NULL;
    PyObject *held = drain(rbio);
    if (held == NULL) {
        Py_DECREF(token);
        return NULL;
    }
    error = ret == 1 ? 0 : f.SSL_get_error(ssl, ret);
    return Py_BuildValue("iiNN", ret, error, token, held);
}

/* ---------------------------------------------------------------------------------------
 * The "winpki" OpenSSL provider's signature bookkeeping (schannel/osslprov.py).
 *
 * OpenSSL makes two signature contexts per handshake signature and calls their
 * provider-signature(7) functions some fifteen times (new, init, parameters, the size
 * query, free...), plus query_operation and the key management's query_operation_name:
 * each a ctypes callback into Python when osslprov.py implements them. Here they are C,
 * holding the context's state (digest, padding, salt length, MGF1 digest, the message of
 * a streamed signature); Python is called twice per signature, for the key's maximum
 * signature size and for the signature itself (the key lives in Python: a CSP, a KSP or
 * a token). The operation names and rules stay osslprov.py's; these functions only hold
 * the values and pass them on. They run on OpenSSL's threads without the GIL and take it
 * only around the two calls into Python.
 * ------------------------------------------------------------------------------------- */

typedef struct {
    const char *key;
    unsigned int data_type;
    void *data;
    size_t data_size;
    size_t return_size;
} ossl_param;

#define P_INTEGER 1
#define P_UNSIGNED_INTEGER 2
#define P_UTF8_STRING 4
#define P_UTF8_PTR 6
#define P_UNMODIFIED ((size_t)-1)
#define OP_KEYMGMT 10
#define OP_SIGNATURE 12
#define OP_ASYM_CIPHER 13
#define PAD_PKCS1 1
#define PAD_NONE 3
#define PAD_X931 5
#define PAD_PSS 6
#define SALTLEN_DIGEST (-1)
#define SALTLEN_AUTO (-2)
#define SALTLEN_MAX (-3)
#define SALTLEN_AUTO_DIGEST_MAX (-4)

/* The provider's context: the algorithm tables (osslprov.py builds them) and the two
 * Python callables. Made once per provider, never freed (the provider lives as long as
 * the process's OpenSSL). */
struct prov {
    void *tables[3]; /* OSSL_ALGORITHM arrays of KEYMGMT, SIGNATURE, ASYM_CIPHER */
    PyObject *sign;  /* sign(key, ecdsa, md, pad, saltlen, mgf1, data, prehashed) -> bytes | None */
    PyObject *size;  /* size(key) -> the key's maximum signature size, 0 if it has none */
};

/* The digests a TLS server key signs with, by osslprov.py's names. */
static const char *const md_names[] = {NULL, "md5_sha1", "sha1", "sha256", "sha384", "sha512"};
#define MD_COUNT 6

/* OpenSSL's names (SHA2-256, SHA256, SHA-256, MD5-SHA1...) -> an index of md_names, 0 for
 * one a TLS key does not sign with. */
static int
md_index(const char *name)
{
    char n[32];
    size_t j = 0;
    if (name == NULL)
        return 0;
    for (size_t i = 0; name[i] && j < sizeof n - 1; i++) {
        char c = name[i];
        n[j++] = (c >= 'a' && c <= 'z') ? (char)(c - 32) : c;
    }
    n[j] = 0;
    if (!strcmp(n, "MD5SHA1") || !strcmp(n, "MD5-SHA1"))
        return 1;
    const char *tail = n;
    if (!strncmp(n, "SHA2-", 5) || !strncmp(n, "SHA-", 4))
        tail = n + (n[3] == '2' ? 5 : 4);
    else if (!strncmp(n, "SHA", 3))
        tail = n + 3;
    else
        return 0;
    if (!strcmp(tail, "1"))
        return 2;
    if (!strcmp(tail, "256"))
        return 3;
    if (!strcmp(tail, "384"))
        return 4;
    if (!strcmp(tail, "512"))
        return 5;
    return 0;
}

static const size_t md_sizes[] = {0, 36, 20, 32, 48, 64};

struct sigctx {
    struct prov *prov;
    int ecdsa;
    void *key;  /* the key management's handle (osslprov.py's integer) */
    int md;     /* md_names index, 0: none yet */
    int pad;
    int saltlen;
    int mgf1;   /* md_names index, 0: the signature's digest */
    int streamed; /* digest_sign_update was called: buf holds the message so far */
    unsigned char *buf;
    size_t len, cap;
};

static void *
sig_newctx(struct prov *prov, int ecdsa)
{
    struct sigctx *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->prov = prov;
    c->ecdsa = ecdsa;
    c->pad = PAD_PKCS1;
    c->saltlen = SALTLEN_DIGEST;
    return c;
}

static void *sig_newctx_rsa(void *provctx, const char *propq) { return sig_newctx(provctx, 0); }
static void *sig_newctx_ecdsa(void *provctx, const char *propq) { return sig_newctx(provctx, 1); }

static void
sig_freectx(void *ctx)
{
    struct sigctx *c = ctx;
    if (c != NULL) {
        free(c->buf);
        free(c);
    }
}

static void *
sig_dupctx(void *ctx)
{
    struct sigctx *c = ctx, *d = malloc(sizeof *d);
    if (d == NULL)
        return NULL;
    *d = *c;
    d->buf = NULL;
    if (c->len) {
        d->buf = malloc(c->len);
        if (d->buf == NULL) {
            free(d);
            return NULL;
        }
        memcpy(d->buf, c->buf, c->len);
    }
    d->cap = c->len;
    return d;
}

static int
param_int(const ossl_param *p, int *out)
{
    if (p->data == NULL)
        return 0;
    if (p->data_type == P_INTEGER || p->data_type == P_UNSIGNED_INTEGER) {
        if (p->data_size == sizeof(int32_t)) {
            int32_t v;
            memcpy(&v, p->data, sizeof v);
            *out = (int)v;
            return 1;
        }
        if (p->data_size == sizeof(int64_t)) {
            int64_t v;
            memcpy(&v, p->data, sizeof v);
            if (v < INT_MIN || v > INT_MAX)
                return 0;
            *out = (int)v;
            return 1;
        }
    }
    return 0;
}

/* A string parameter's text, copied into ``buf`` (NUL-terminated, at most size - 1 bytes:
 * no name used here is longer), NULL when it is not a string or does not fit. A UTF8
 * string's data_size is its length; its terminating NUL is not promised (OSSL_PARAM(3)). */
static const char *
param_text(const ossl_param *p, char *buf, size_t size)
{
    const char *text;
    size_t n;
    if (p->data_type == P_UTF8_STRING && p->data != NULL) {
        text = p->data;
        n = strnlen(text, p->data_size);
    } else if (p->data_type == P_UTF8_PTR && p->data != NULL && *(const char **)p->data != NULL) {
        text = *(const char **)p->data;
        n = strnlen(text, size);
    } else
        return NULL;
    if (n >= size)
        return NULL;
    memcpy(buf, text, n);
    buf[n] = 0;
    return buf;
}

struct named {
    const char *name;
    int value;
};
static const struct named pad_names[] = {
    {"pkcs1", PAD_PKCS1}, {"none", PAD_NONE}, {"pss", PAD_PSS}, {NULL, 0}};
static const struct named saltlen_names[] = {
    {"digest", SALTLEN_DIGEST}, {"max", SALTLEN_MAX}, {"auto", SALTLEN_AUTO},
    {"auto-digestmax", SALTLEN_AUTO_DIGEST_MAX}, {NULL, 0}};

/* An integer parameter, or a string naming one in ``names`` (or, with ``digits``, written
 * as a decimal number: a saltlen). */
static int
param_named(const ossl_param *p, const struct named *names, int digits, int *out)
{
    char text[64];
    const char *name = param_text(p, text, sizeof text);
    if (name == NULL)
        return p->data_type == P_UTF8_STRING || p->data_type == P_UTF8_PTR ? 0
                                                                            : param_int(p, out);
    for (; names->name != NULL; names++)
        if (!strcmp(name, names->name)) {
            *out = names->value;
            return 1;
        }
    if (digits && *name) {
        char *end;
        long v = strtol(name, &end, 10);
        if (*end == 0 && v >= INT_MIN && v <= INT_MAX) {
            *out = (int)v;
            return 1;
        }
    }
    return 0;
}

static int
sig_set_params(void *ctx, const ossl_param *params)
{
    struct sigctx *c = ctx;
    for (const ossl_param *p = params; p != NULL && p->key != NULL; p++) {
        if (!strcmp(p->key, "digest")) {
            char text[64];
            int md = md_index(param_text(p, text, sizeof text));
            if (!md)
                return 0;
            c->md = md;
            c->len = 0; /* a new digest starts the message again */
            c->streamed = 0;
        } else if (!strcmp(p->key, "pad-mode")) {
            if (!param_named(p, pad_names, 0, &c->pad))
                return 0;
        } else if (!strcmp(p->key, "saltlen")) {
            if (!param_named(p, saltlen_names, 1, &c->saltlen))
                return 0;
        } else if (!strcmp(p->key, "mgf1-digest")) {
            char text[64];
            int md = md_index(param_text(p, text, sizeof text));
            if (!md)
                return 0;
            c->mgf1 = md;
        }
    }
    return 1;
}

static int
set_utf8(ossl_param *p, const char *value)
{
    size_t n = strlen(value);
    if (p->data_type != P_UTF8_STRING)
        return 0;
    p->return_size = n;
    if (p->data == NULL)
        return 1;
    if (p->data_size < n + 1)
        return 0;
    memcpy(p->data, value, n + 1);
    return 1;
}

static int
set_int(ossl_param *p, int value)
{
    if (p->data_type != P_INTEGER && p->data_type != P_UNSIGNED_INTEGER)
        return 0;
    size_t size = p->data_size ? p->data_size : sizeof(int32_t);
    p->return_size = size;
    if (p->data == NULL)
        return 1;
    if (size == sizeof(int32_t)) {
        int32_t v = value;
        memcpy(p->data, &v, sizeof v);
    } else if (size == sizeof(int64_t)) {
        int64_t v = value;
        memcpy(p->data, &v, sizeof v);
    } else
        return 0;
    return 1;
}

static const char *const md_openssl_names[] = {NULL, "MD5-SHA1", "SHA1", "SHA256", "SHA384",
                                               "SHA512"};

static int
sig_get_params(void *ctx, ossl_param *params)
{
    struct sigctx *c = ctx;
    for (ossl_param *p = params; p != NULL && p->key != NULL; p++) {
        if (!strcmp(p->key, "digest") && c->md)
            set_utf8(p, md_openssl_names[c->md]);
        else if (!strcmp(p->key, "pad-mode")) {
            if (p->data_type == P_UTF8_STRING)
                set_utf8(p, c->pad == PAD_PSS ? "pss" : "pkcs1");
            else
                set_int(p, c->pad);
        } else if (!strcmp(p->key, "saltlen") && p->data_type != P_UTF8_STRING)
            set_int(p, c->saltlen);
    }
    return 1;
}

static const ossl_param sig_settable[] = {
    {"digest", P_UTF8_STRING, NULL, 0, P_UNMODIFIED},
    {"properties", P_UTF8_STRING, NULL, 0, P_UNMODIFIED},
    {"pad-mode", P_INTEGER, NULL, 0, P_UNMODIFIED},
    {"saltlen", P_INTEGER, NULL, 0, P_UNMODIFIED},
    {"mgf1-digest", P_UTF8_STRING, NULL, 0, P_UNMODIFIED},
    {"mgf1-properties", P_UTF8_STRING, NULL, 0, P_UNMODIFIED},
    {NULL, 0, NULL, 0, 0},
};
static const ossl_param sig_gettable[] = {
    {"digest", P_UTF8_STRING, NULL, 0, P_UNMODIFIED},
    {"pad-mode", P_INTEGER, NULL, 0, P_UNMODIFIED},
    {"saltlen", P_INTEGER, NULL, 0, P_UNMODIFIED},
    {NULL, 0, NULL, 0, 0},
};

static const ossl_param *sig_settable_params(void *ctx, void *provctx) { return sig_settable; }
static const ossl_param *sig_gettable_params(void *ctx, void *provctx) { return sig_gettable; }

static int
sig_init(void *ctx, void *provkey, const ossl_param *params)
{
    struct sigctx *c = ctx;
    if (provkey == NULL)
        return 0;
    c->key = provkey;
    c->len = 0;
    c->streamed = 0;
    return sig_set_params(ctx, params);
}

static int
sig_digest_init(void *ctx, const char *mdname, void *provkey, const ossl_param *params)
{
    struct sigctx *c = ctx;
    if (mdname != NULL && *mdname) {
        int md = md_index(mdname);
        if (!md)
            return 0;
        c->md = md;
    } else if (!c->md)
        c->md = 3; /* sha256 */
    return sig_init(ctx, provkey, params);
}

static int
sig_update(void *ctx, const unsigned char *data, size_t len)
{
    struct sigctx *c = ctx;
    if (len > c->cap - c->len) {
        size_t cap = c->cap ? c->cap : 256;
        while (cap - c->len < len) {
            if (cap > ((size_t)INT_MAX) / 2)
                return 0;
            cap *= 2;
        }
        unsigned char *buf = realloc(c->buf, cap);
        if (buf == NULL)
            return 0;
        c->buf = buf;
        c->cap = cap;
    }
    if (len)
        memcpy(c->buf + c->len, data, len);
    c->len += len;
    c->streamed = 1;
    return 1;
}

/* The key's maximum signature size, from Python (0: no key or an error). */
static size_t
key_size(struct sigctx *c)
{
    PyGILState_STATE gil = PyGILState_Ensure();
    size_t size = 0;
    PyObject *r = PyObject_CallFunction(c->prov->size, "n", (Py_ssize_t)(intptr_t)c->key);
    if (r != NULL) {
        size = PyLong_AsSize_t(r);
        Py_DECREF(r);
    }
    if (PyErr_Occurred()) {
        PyErr_WriteUnraisable(c->prov->size);
        size = 0;
    }
    PyGILState_Release(gil);
    return size;
}

/* The signature of ``a`` followed by ``b`` (the message, or with ``prehashed`` the
 * digest), by the key in Python; 1 with *siglen set, 0 on failure (Python reported it). */
static int
emit(struct sigctx *c, const unsigned char *a, size_t alen, const unsigned char *b,
     size_t blen, int prehashed, unsigned char *sig, size_t *siglen, size_t sigsize)
{
    if (blen > (size_t)PY_SSIZE_T_MAX || alen > (size_t)PY_SSIZE_T_MAX - blen)
        return 0;
    PyGILState_STATE gil = PyGILState_Ensure();
    int ok = 0;
    PyObject *data = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(alen + blen));
    if (data != NULL) {
        if (alen)
            memcpy(PyBytes_AS_STRING(data), a, alen);
        if (blen)
            memcpy(PyBytes_AS_STRING(data) + alen, b, blen);
        PyObject *md = c->md ? PyUnicode_FromString(md_names[c->md]) : Py_NewRef(Py_None);
        PyObject *mgf1 = c->mgf1 ? PyUnicode_FromString(md_names[c->mgf1]) : Py_NewRef(Py_None);
        if (md != NULL && mgf1 != NULL) {
            PyObject *r = PyObject_CallFunction(
                c->prov->sign, "niOiiOOi", (Py_ssize_t)(intptr_t)c->key, c->ecdsa, md, c->pad,
                c->saltlen, mgf1, data, prehashed);
            if (r != NULL) {
                if (PyBytes_Check(r) && (size_t)PyBytes_GET_SIZE(r) <= sigsize) {
                    memcpy(sig, PyBytes_AS_STRING(r), (size_t)PyBytes_GET_SIZE(r));
                    *siglen = (size_t)PyBytes_GET_SIZE(r);
                    ok = 1;
                }
                Py_DECREF(r);
            }
        }
        Py_XDECREF(md);
        Py_XDECREF(mgf1);
        Py_DECREF(data);
    }
    if (PyErr_Occurred())
        PyErr_WriteUnraisable(c->prov->sign);
    PyGILState_Release(gil);
    return ok;
}

static int
sig_digest_sign(void *ctx, unsigned char *sig, size_t *siglen, size_t sigsize,
                const unsigned char *tbs, size_t tbslen)
{
    struct sigctx *c = ctx;
    if (sig == NULL) /* the size query */
        return (*siglen = key_size(c)) != 0;
    /* After updates, the one-shot call finishes that message. */
    return emit(c, c->buf, c->streamed ? c->len : 0, tbs, tbslen, 0, sig, siglen, sigsize);
}

static int
sig_final(void *ctx, unsigned char *sig, size_t *siglen, size_t sigsize)
{
    struct sigctx *c = ctx;
    if (sig == NULL) /* the size query */
        return (*siglen = key_size(c)) != 0;
    return emit(c, c->buf, c->len, NULL, 0, 0, sig, siglen, sigsize);
}

/* EVP_PKEY_sign: ``tbs`` is the digest already (its size names the hash if none was set). */
static int
sig_sign(void *ctx, unsigned char *sig, size_t *siglen, size_t sigsize,
         const unsigned char *tbs, size_t tbslen)
{
    struct sigctx *c = ctx;
    if (sig == NULL) /* the size query */
        return (*siglen = key_size(c)) != 0;
    if (!c->md)
        for (int i = 1; i < MD_COUNT; i++)
            if (md_sizes[i] == tbslen)
                c->md = i;
    return emit(c, NULL, 0, tbs, tbslen, 1, sig, siglen, sigsize);
}

static void *
prov_query(void *provctx, int operation, int *no_store)
{
    struct prov *p = provctx;
    if (no_store != NULL)
        *no_store = 0;
    switch (operation) {
    case OP_KEYMGMT:
        return p->tables[0];
    case OP_SIGNATURE:
        return p->tables[1];
    case OP_ASYM_CIPHER:
        return p->tables[2];
    default:
        return NULL; /* not an empty list: OpenSSL 3.0 asks again each time (osslprov.py) */
    }
}

static const char *
opname_rsa(int operation)
{
    return operation == OP_SIGNATURE ? "WINPKI-RSA-SIG"
         : operation == OP_ASYM_CIPHER ? "WINPKI-RSA-DEC" : "RSA";
}

static const char *
opname_ec(int operation)
{
    return operation == OP_SIGNATURE ? "WINPKI-ECDSA" : "EC";
}

/* provider(sign, size, keymgmt, signature, cipher) -> the address of a provider context
 * (what the provider's init hands OpenSSL) holding the three algorithm tables' addresses
 * and the two callables. */
static PyObject *
sspirecord_provider(PyObject *self, PyObject *args)
{
    PyObject *sign, *size, *t0, *t1, *t2;
    if (!PyArg_ParseTuple(args, "OOOOO", &sign, &size, &t0, &t1, &t2))
        return NULL;
    if (!PyCallable_Check(sign) || !PyCallable_Check(size)) {
        PyErr_SetString(PyExc_TypeError, "provider(): sign and size must be callable");
        return NULL;
    }
    void *tables[3] = {address(t0), address(t1), address(t2)};
    if (PyErr_Occurred())
        return NULL;
    struct prov *p = calloc(1, sizeof *p);
    if (p == NULL)
        return PyErr_NoMemory();
    memcpy(p->tables, tables, sizeof tables);
    p->sign = Py_NewRef(sign);
    p->size = Py_NewRef(size);
    return PyLong_FromVoidPtr(p);
}

/* provider_functions() -> {name: address} of the functions above, for the dispatch tables. */
static PyObject *
sspirecord_provider_functions(PyObject *self, PyObject *unused)
{
    struct {
        const char *name;
        void *fn;
    } fns[] = {
        {"query", (void *)prov_query},
        {"opname_rsa", (void *)opname_rsa},
        {"opname_ec", (void *)opname_ec},
        {"newctx_rsa", (void *)sig_newctx_rsa},
        {"newctx_ecdsa", (void *)sig_newctx_ecdsa},
        {"freectx", (void *)sig_freectx},
        {"dupctx", (void *)sig_dupctx},
        {"sign_init", (void *)sig_init},
        {"sign", (void *)sig_sign},
        {"digest_sign_init", (void *)sig_digest_init},
        {"digest_sign_update", (void *)sig_update},
        {"digest_sign_final", (void *)sig_final},
        {"digest_sign", (void *)sig_digest_sign},
        {"get_ctx_params", (void *)sig_get_params},
        {"gettable_ctx_params", (void *)sig_gettable_params},
        {"set_ctx_params", (void *)sig_set_params},
        {"settable_ctx_params", (void *)sig_settable_params},
    };
    PyObject *out = PyDict_New();
    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
        PyObject *v = PyLong_FromVoidPtr(fns[i].fn);
        if (v == NULL || PyDict_SetItemString(out, fns[i].name, v) < 0) {
            Py_XDECREF(v);
            Py_DECREF(out);
            return NULL;
        }
        Py_DECREF(v);
    }
    return out;
}

static PyMethodDef methods[] = {
    {"init", sspirecord_init, METH_O,
     "init({name: address}): the addresses of the OpenSSL functions used, in the "
     "libssl/libcrypto already loaded."},
    {"new_bio", sspirecord_new_bio, METH_NOARGS, "new_bio() -> a context's direct BIO."},
    {"free_bio", sspirecord_free_bio, METH_O, "free_bio(address): BIO_free."},
    {"seal", (PyCFunction)(void (*)(void))sspirecord_seal, METH_FASTCALL,
     "seal(ssl, wbio, direct, header, data, trailer, h, n) -> trailer length, or R_*."},
    {"open", (PyCFunction)(void (*)(void))sspirecord_open, METH_FASTCALL,
     "open(ssl, rbio, direct, record, h, length) -> SSL_read's result, or R_*."},
    {"provider", sspirecord_provider, METH_VARARGS,
     "provider(sign, size, keymgmt, signature, cipher) -> a provider context's address."},
    {"provider_functions", sspirecord_provider_functions, METH_NOARGS,
     "provider_functions() -> {name: address} of the provider's C functions."},
    {"step", (PyCFunction)(void (*)(void))sspirecord_step, METH_FASTCALL,
     "step(ssl, rbio, wbio, data, n) -> (ret, error, token, held), or None if BIO_write "
     "failed."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_sspirecord",
    "EncryptMessage/DecryptMessage's record kernel over the process's OpenSSL (optional).",
    -1, methods,
};

PyMODINIT_FUNC
PyInit__sspirecord(void)
{
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    if (PyModule_AddIntConstant(m, "R_FAILED", R_FAILED) < 0
        || PyModule_AddIntConstant(m, "R_TOO_SMALL", R_TOO_SMALL) < 0
        || PyModule_AddIntConstant(m, "R_NOT_HANDLED", R_NOT_HANDLED) < 0
        || PyModule_AddIntConstant(m, "R_BIO_WRITE", R_BIO_WRITE) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
