/* schannel._sspirecord: the record kernel of EncryptMessage and DecryptMessage
 * (schannel/secur32.py), optional -- without it the same calls are made through ctypes.
 *
 * It does not include OpenSSL's headers nor link against OpenSSL: the process already has
 * the libssl/libcrypto schannel.tls loaded through ctypes, and init() is handed the
 * addresses of the five functions used here from those very libraries. Buffers come
 * through the buffer protocol (the caller's memoryviews); the GIL is released around
 * SSL_write and SSL_read (the cipher work), and held around the memory BIOs' calls, which
 * are a memcpy at most.
 *
 * Python keeps every SecBuffer check and every status: seal() and open() return numbers
 * that secur32.py turns into the SecBuffers and SEC_E_* codes.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

/* The prototypes of OpenSSL 3's ssl.h and bio.h, written out. */
typedef int (*ssl_write_fn)(void *ssl, const void *buf, int num);
typedef int (*ssl_read_fn)(void *ssl, void *buf, int num);
typedef int (*bio_write_fn)(void *bio, const void *buf, int len);
typedef int (*bio_read_fn)(void *bio, void *buf, int len);
typedef size_t (*bio_pending_fn)(void *bio);

static ssl_write_fn p_SSL_write;
static ssl_read_fn p_SSL_read;
static bio_write_fn p_BIO_write;
static bio_read_fn p_BIO_read;
static bio_pending_fn p_BIO_ctrl_pending;

/* seal()'s and open()'s answers other than a length. */
#define R_FAILED (-1)      /* SSL_write wrote less than asked (or no whole record) */
#define R_TOO_SMALL (-2)   /* the record's trailer does not fit the trailer buffer */
#define R_NOT_HANDLED (-3) /* not writable contiguous bytes in memoryviews: Python's path */
#define R_BIO_WRITE (-4)   /* BIO_write took less than the record */

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
        PyErr_Clear(); /* read-only or not contiguous: not this path */
        return 0;
    }
    if (view->itemsize != 1) {
        PyBuffer_Release(view);
        return 0;
    }
    return 1;
}

static PyObject *
sspirecord_init(PyObject *self, PyObject *args)
{
    PyObject *w, *r, *bw, *br, *bp;

    if (!PyArg_ParseTuple(args, "OOOOO:init", &w, &r, &bw, &br, &bp))
        return NULL;
    void *a[5] = {address(w), address(r), address(bw), address(br), address(bp)};
    if (PyErr_Occurred())
        return NULL;
    for (int i = 0; i < 5; i++) {
        if (a[i] == NULL) {
            PyErr_SetString(PyExc_ValueError, "a function address is NULL");
            return NULL;
        }
    }
    p_SSL_write = (ssl_write_fn)a[0];
    p_SSL_read = (ssl_read_fn)a[1];
    p_BIO_write = (bio_write_fn)a[2];
    p_BIO_read = (bio_read_fn)a[3];
    p_BIO_ctrl_pending = (bio_pending_fn)a[4];
    Py_RETURN_NONE;
}

/* Everything the BIO still holds is read and dropped (a record that did not fit). */
static void
discard(void *bio)
{
    char scratch[4096];
    while (p_BIO_read(bio, scratch, (int)sizeof scratch) > 0)
        ;
}

/* seal(ssl, wbio, header, data, trailer, h, n) -> the trailer's length, or R_*.
 * SSL_write encrypts the first n bytes of ``data`` (n > 0; Python checked n <= len(data)
 * and n <= cbMaximumMessage) into one record in ``wbio``, read over the three buffers:
 * h bytes of header, n of data, the rest in the trailer -- with one BIO_read when the
 * three are contiguous in memory, as a C loop's single send buffer is. */
static PyObject *
sspirecord_seal(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    Py_buffer hb, db, tb;
    void *ssl, *wbio;
    Py_ssize_t h, n;
    long result;

    if (nargs != 7) {
        PyErr_SetString(PyExc_TypeError, "seal() takes 7 arguments");
        return NULL;
    }
    ssl = address(args[0]);
    wbio = address(args[1]);
    h = PyLong_AsSsize_t(args[5]);
    n = PyLong_AsSsize_t(args[6]);
    if (PyErr_Occurred())
        return NULL;
    if (!ssl || !wbio || h < 0 || n <= 0 || n > INT_MAX) {
        PyErr_SetString(PyExc_ValueError, "seal(): bad handle or length");
        return NULL;
    }
    if (!get_view(args[2], &hb))
        return PyErr_Occurred() ? NULL : PyLong_FromLong(R_NOT_HANDLED);
    if (!get_view(args[3], &db)) {
        PyBuffer_Release(&hb);
        return PyErr_Occurred() ? NULL : PyLong_FromLong(R_NOT_HANDLED);
    }
    if (!get_view(args[4], &tb)) {
        PyBuffer_Release(&hb);
        PyBuffer_Release(&db);
        return PyErr_Occurred() ? NULL : PyLong_FromLong(R_NOT_HANDLED);
    }
    if (hb.len < h || db.len < n) {
        result = R_NOT_HANDLED;
        goto done;
    }
    char *base = hb.buf, *data = db.buf, *trailer = tb.buf;
    int wrote;
    Py_BEGIN_ALLOW_THREADS
    wrote = p_SSL_write(ssl, data, (int)n);
    Py_END_ALLOW_THREADS
    if (wrote != n) {
        result = R_FAILED;
        goto done;
    }
    size_t size = p_BIO_ctrl_pending(wbio);
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
    if (data == base + h && (tail == 0 || trailer == data + n)) {
        p_BIO_read(wbio, base, (int)size);
    } else {
        if (h)
            p_BIO_read(wbio, base, (int)h);
        p_BIO_read(wbio, data, (int)n);
        if (tail)
            p_BIO_read(wbio, trailer, (int)tail);
    }
    result = (long)tail;
done:
    PyBuffer_Release(&hb);
    PyBuffer_Release(&db);
    PyBuffer_Release(&tb);
    return PyLong_FromLong(result);
}

/* open(ssl, rbio, record, h, length) -> SSL_read's result, or R_*.
 * The first ``length`` bytes of ``record`` (one whole TLS record; Python checked
 * length <= len(record) and h <= length) go to ``rbio`` and SSL_read decrypts the
 * plaintext over the record, from offset h: DecryptMessage's DATA points into the
 * caller's buffer, as Schannel's does. */
static PyObject *
sspirecord_open(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    Py_buffer rb;
    void *ssl, *rbio;
    Py_ssize_t h, length;
    long result;

    if (nargs != 5) {
        PyErr_SetString(PyExc_TypeError, "open() takes 5 arguments");
        return NULL;
    }
    ssl = address(args[0]);
    rbio = address(args[1]);
    h = PyLong_AsSsize_t(args[3]);
    length = PyLong_AsSsize_t(args[4]);
    if (PyErr_Occurred())
        return NULL;
    if (!ssl || !rbio || h < 0 || length < h || length > INT_MAX) {
        PyErr_SetString(PyExc_ValueError, "open(): bad handle or length");
        return NULL;
    }
    if (!get_view(args[2], &rb))
        return PyErr_Occurred() ? NULL : PyLong_FromLong(R_NOT_HANDLED);
    if (rb.len < length) {
        result = R_NOT_HANDLED;
        goto done;
    }
    char *record = rb.buf;
    if (p_BIO_write(rbio, record, (int)length) != length) {
        result = R_BIO_WRITE;
        goto done;
    }
    int got;
    Py_BEGIN_ALLOW_THREADS
    got = p_SSL_read(ssl, record + h, (int)(length - h));
    Py_END_ALLOW_THREADS
    result = got;
done:
    PyBuffer_Release(&rb);
    return PyLong_FromLong(result);
}

static PyMethodDef methods[] = {
    {"init", sspirecord_init, METH_VARARGS,
     "init(SSL_write, SSL_read, BIO_write, BIO_read, BIO_ctrl_pending): the functions' "
     "addresses in the libssl/libcrypto already loaded."},
    {"seal", (PyCFunction)(void (*)(void))sspirecord_seal, METH_FASTCALL,
     "seal(ssl, wbio, header, data, trailer, h, n) -> trailer length, or a negative R_*."},
    {"open", (PyCFunction)(void (*)(void))sspirecord_open, METH_FASTCALL,
     "open(ssl, rbio, record, h, length) -> SSL_read's result, or a negative R_*."},
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
