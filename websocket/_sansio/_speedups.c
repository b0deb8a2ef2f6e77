/*
 * Optional compiled speedups for wsline (import name: websocket._sansio._speedups).
 *
 * apply_mask(data, key) -> bytes
 *     XOR ``data`` with the 4-byte ``key`` repeated (RFC 6455 section 5.3).
 * build_frame(first_byte, payload, key) -> bytes
 *     A whole masked client frame (header, key, masked payload) in one
 *     allocation and one pass over the payload.
 *
 * parse_messages(data, pos, message_type, max_size, validate_utf8) -> (list, pos)
 *     The receive hot path: every whole, unfragmented, unmasked text or binary
 *     frame from ``pos`` on, as ``message_type`` objects (text decoded and
 *     validated in one pass), up to the first frame that is anything else.
 *     That frame, and everything after it, is left to protocol.py, which
 *     also reports every error: this loop never fails a connection itself.
 *
 * All give exactly the results of the pure-Python code in mask.py and
 * protocol.py; the same tests run against each. Portable C99: the word loop is written so the
 * compiler can vectorise it, and unaligned access goes through memcpy.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

#include <stdint.h>
#include <string.h>

/* Above this size the XOR runs without the GIL so other threads keep going;
 * below it, dropping and retaking the lock costs more than it frees. */
#define WSLINE_NOGIL_THRESHOLD (64 * 1024)

#define WSLINE_MAX_HEADER 14 /* 2 + 8 (64-bit length) + 4 (mask key) */

/* MSVC's C mode spells C99's restrict differently. */
#if defined(_MSC_VER)
#define WSLINE_RESTRICT __restrict
#else
#define WSLINE_RESTRICT restrict
#endif

/* XOR n bytes of src with the repeating key into dst. Every caller masks a
 * whole payload, so src[0] always meets key[0]. */
static void
xor_mask(unsigned char *WSLINE_RESTRICT dst, const unsigned char *WSLINE_RESTRICT src,
         Py_ssize_t n, const unsigned char key[4])
{
    unsigned char key8[8];
    uint64_t k64;
    Py_ssize_t i = 0;

    /* Built through memory, so the word has the key's byte order on any host. */
    memcpy(key8, key, 4);
    memcpy(key8 + 4, key, 4);
    memcpy(&k64, key8, 8);

    for (; i + 32 <= n; i += 32) {
        uint64_t w0, w1, w2, w3;
        memcpy(&w0, src + i, 8);
        memcpy(&w1, src + i + 8, 8);
        memcpy(&w2, src + i + 16, 8);
        memcpy(&w3, src + i + 24, 8);
        w0 ^= k64;
        w1 ^= k64;
        w2 ^= k64;
        w3 ^= k64;
        memcpy(dst + i, &w0, 8);
        memcpy(dst + i + 8, &w1, 8);
        memcpy(dst + i + 16, &w2, 8);
        memcpy(dst + i + 24, &w3, 8);
    }
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, src + i, 8);
        w ^= k64;
        memcpy(dst + i, &w, 8);
    }
    for (; i < n; i++) {
        dst[i] = src[i] ^ key[i & 3];
    }
}

static void
xor_mask_maybe_nogil(unsigned char *dst, const unsigned char *src,
                     Py_ssize_t n, const unsigned char key[4])
{
    if (n > WSLINE_NOGIL_THRESHOLD) {
        Py_BEGIN_ALLOW_THREADS
        xor_mask(dst, src, n, key);
        Py_END_ALLOW_THREADS
    }
    else {
        xor_mask(dst, src, n, key);
    }
}

/* Export a contiguous buffer of obj into view. A non-contiguous buffer (a
 * strided memoryview) is first copied into bytes, as bytes(obj) would do, so
 * that every implementation accepts the same inputs. */
static int
get_bytes_view(PyObject *obj, Py_buffer *view)
{
    PyObject *copy;
    int rc;

    if (PyObject_GetBuffer(obj, view, PyBUF_SIMPLE) == 0) {
        return 0;
    }
    if (!PyObject_CheckBuffer(obj) || !PyErr_ExceptionMatches(PyExc_BufferError)) {
        return -1;
    }
    PyErr_Clear();
    copy = PyBytes_FromObject(obj);
    if (copy == NULL) {
        return -1;
    }
    /* The view keeps its own reference to copy in view->obj. */
    rc = PyObject_GetBuffer(copy, view, PyBUF_SIMPLE);
    Py_DECREF(copy);
    return rc;
}

/* Copy the 4-byte key out of key_obj; ValueError for any other length. */
static int
get_key(PyObject *key_obj, unsigned char key[4])
{
    Py_buffer kv;

    if (get_bytes_view(key_obj, &kv) < 0) {
        return -1;
    }
    if (kv.len != 4) {
        PyErr_Format(PyExc_ValueError, "mask key must be 4 bytes, got %zd", kv.len);
        PyBuffer_Release(&kv);
        return -1;
    }
    memcpy(key, kv.buf, 4);
    PyBuffer_Release(&kv);
    return 0;
}

PyDoc_STRVAR(apply_mask_doc,
"apply_mask(data, key, /)\n--\n\n"
"Return ``data`` XORed with the 4-byte ``key`` repeated (masking and\n"
"unmasking are the same operation). Raises ValueError unless ``key`` has\n"
"exactly 4 bytes.");

static PyObject *
apply_mask(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    unsigned char key[4];
    Py_buffer data;
    PyObject *result;

    (void)module;
    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError, "apply_mask() takes 2 arguments (%zd given)", nargs);
        return NULL;
    }
    if (get_key(args[1], key) < 0 || get_bytes_view(args[0], &data) < 0) {
        return NULL;
    }
    result = PyBytes_FromStringAndSize(NULL, data.len);
    if (result != NULL) {
        xor_mask_maybe_nogil((unsigned char *)PyBytes_AS_STRING(result),
                             (const unsigned char *)data.buf, data.len, key);
    }
    PyBuffer_Release(&data);
    return result;
}

/* Write the header of a masked frame (without the key); returns its length. */
static Py_ssize_t
write_header(unsigned char *out, unsigned char first_byte, Py_ssize_t length)
{
    uint64_t len64 = (uint64_t)length;
    int shift;

    out[0] = first_byte;
    if (length < 126) {
        out[1] = (unsigned char)(0x80 | length);
        return 2;
    }
    if (length < 0x10000) {
        out[1] = 0x80 | 126;
        out[2] = (unsigned char)(length >> 8);
        out[3] = (unsigned char)length;
        return 4;
    }
    out[1] = 0x80 | 127;
    for (shift = 0; shift < 8; shift++) {
        out[2 + shift] = (unsigned char)(len64 >> (56 - 8 * shift));
    }
    return 10;
}

PyDoc_STRVAR(build_frame_doc,
"build_frame(first_byte, payload, key, /)\n--\n\n"
"Return a whole masked client frame: ``first_byte`` (FIN, RSV, opcode), the\n"
"length with the mask bit set, ``key`` and the masked ``payload``. Raises\n"
"ValueError unless ``key`` has 4 bytes and ``first_byte`` is in range(256).");

static PyObject *
build_frame(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    unsigned char key[4];
    unsigned char header[WSLINE_MAX_HEADER];
    Py_ssize_t header_len;
    Py_buffer payload;
    PyObject *result;
    unsigned char *out;
    long first_byte;
    int overflow;

    (void)module;
    if (nargs != 3) {
        PyErr_Format(PyExc_TypeError, "build_frame() takes 3 arguments (%zd given)", nargs);
        return NULL;
    }
    /* Any int out of range is a ValueError, however large, as in the pure path. */
    first_byte = PyLong_AsLongAndOverflow(args[0], &overflow);
    if (first_byte == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (overflow || first_byte < 0 || first_byte > 255) {
        PyErr_Format(PyExc_ValueError, "first byte must be in range(256), got %R", args[0]);
        return NULL;
    }
    if (get_key(args[2], key) < 0 || get_bytes_view(args[1], &payload) < 0) {
        return NULL;
    }
    header_len = write_header(header, (unsigned char)first_byte, payload.len);
    memcpy(header + header_len, key, 4);
    header_len += 4;
    if (payload.len > PY_SSIZE_T_MAX - header_len) {
        PyBuffer_Release(&payload);
        return PyErr_NoMemory();
    }
    result = PyBytes_FromStringAndSize(NULL, header_len + payload.len);
    if (result != NULL) {
        out = (unsigned char *)PyBytes_AS_STRING(result);
        memcpy(out, header, (size_t)header_len);
        xor_mask_maybe_nogil(out + header_len, (const unsigned char *)payload.buf,
                             payload.len, key);
    }
    PyBuffer_Release(&payload);
    return result;
}


/* Where message_type keeps its two slots, found once from its member
 * descriptors; -1 when the type is not a plain slotted class (then it is called). */
static int
slot_offset(PyTypeObject *type, const char *name, Py_ssize_t *offset)
{
    PyObject *descr = PyObject_GetAttrString((PyObject *)type, name);

    *offset = -1;
    if (descr == NULL) {
        return -1;
    }
    if (Py_IS_TYPE(descr, &PyMemberDescr_Type)) {
        PyMemberDef *member = ((PyMemberDescrObject *)descr)->d_member;
        if (member->type == T_OBJECT_EX && !(member->flags & READONLY)) {
            *offset = member->offset;
        }
    }
    Py_DECREF(descr);
    return 0;
}

/* A new message_type(opcode, data); steals the reference to data. With both
 * slot offsets known the slots are filled directly: events.Message's __init__
 * does nothing else, and calling it would cost more than the parse. */
static PyObject *
new_message(PyTypeObject *type, Py_ssize_t off_opcode, Py_ssize_t off_data, long opcode, PyObject *data)
{
    PyObject *msg, *op = PyLong_FromLong(opcode);

    if (op == NULL) {
        Py_DECREF(data);
        return NULL;
    }
    if (off_opcode < 0 || off_data < 0) {
        msg = PyObject_CallFunctionObjArgs((PyObject *)type, op, data, NULL);
        Py_DECREF(op);
        Py_DECREF(data);
        return msg;
    }
    msg = type->tp_alloc(type, 0);
    if (msg == NULL) {
        Py_DECREF(op);
        Py_DECREF(data);
        return NULL;
    }
    *(PyObject **)((char *)msg + off_opcode) = op;
    *(PyObject **)((char *)msg + off_data) = data;
    return msg;
}

PyDoc_STRVAR(parse_messages_doc,
"parse_messages(data, pos, message_type, max_size, validate_utf8, /)\n--\n\n"
"Parse the whole unfragmented text and binary frames of ``data`` from ``pos``\n"
"on; return (messages, pos after the last one). Stops at the first frame that\n"
"is incomplete, fragmented, masked, a control frame, has RSV bits, is over\n"
"``max_size`` (-1: no limit) or is text that is not UTF-8 (with\n"
"``validate_utf8``): the caller parses that one.");

static PyObject *
parse_messages(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    const unsigned char *p;
    Py_ssize_t n, pos, max_size, off_opcode, off_data;
    PyTypeObject *type;
    PyObject *found, *result;
    int validate;

    (void)module;
    if (nargs != 5) {
        PyErr_Format(PyExc_TypeError, "parse_messages() takes 5 arguments (%zd given)", nargs);
        return NULL;
    }
    if (!PyBytes_Check(args[0]) || !PyType_Check(args[2])) {
        PyErr_SetString(PyExc_TypeError, "parse_messages() takes bytes and a type");
        return NULL;
    }
    pos = PyLong_AsSsize_t(args[1]);
    max_size = PyLong_AsSsize_t(args[3]);
    validate = PyObject_IsTrue(args[4]);
    if ((pos == -1 || max_size == -1) && PyErr_Occurred()) {
        return NULL;
    }
    if (validate < 0) {
        return NULL;
    }
    type = (PyTypeObject *)args[2];
    if (slot_offset(type, "opcode", &off_opcode) < 0 || slot_offset(type, "data", &off_data) < 0) {
        return NULL;
    }
    p = (const unsigned char *)PyBytes_AS_STRING(args[0]);
    n = PyBytes_GET_SIZE(args[0]);
    if (pos < 0 || pos > n) {
        PyErr_SetString(PyExc_ValueError, "pos out of range");
        return NULL;
    }
    found = PyList_New(0);
    if (found == NULL) {
        return NULL;
    }
    while (n - pos >= 2) {
        unsigned char b0 = p[pos], b1 = p[pos + 1];
        Py_ssize_t start = pos + 2;
        uint64_t length = b1;
        PyObject *data, *msg;
        int i;

        if ((b0 != 0x81 && b0 != 0x82) || b1 & 0x80) {
            break;
        }
        if (length == 126) {
            if (n - pos < 4) {
                break;
            }
            length = ((uint64_t)p[pos + 2] << 8) | p[pos + 3];
            start = pos + 4;
        }
        else if (length == 127) {
            if (n - pos < 10) {
                break;
            }
            length = 0;
            for (i = 2; i < 10; i++) {
                length = (length << 8) | p[pos + i];
            }
            start = pos + 10;
        }
        if (length > (uint64_t)(n - start)) {
            break; /* incomplete (or absurd): protocol.py streams or refuses it */
        }
        if (max_size >= 0 && length > (uint64_t)max_size) {
            break;
        }
        if (b0 == 0x81 && validate) {
            data = PyUnicode_DecodeUTF8((const char *)p + start, (Py_ssize_t)length, "strict");
            if (data == NULL) {
                if (PyErr_ExceptionMatches(PyExc_UnicodeDecodeError)) {
                    PyErr_Clear();
                    break; /* protocol.py fails the connection with its own message */
                }
                Py_DECREF(found);
                return NULL;
            }
        }
        else {
            data = PyBytes_FromStringAndSize((const char *)p + start, (Py_ssize_t)length);
            if (data == NULL) {
                Py_DECREF(found);
                return NULL;
            }
        }
        msg = new_message(type, off_opcode, off_data, b0 & 0x0F, data);
        if (msg == NULL || PyList_Append(found, msg) < 0) {
            Py_XDECREF(msg);
            Py_DECREF(found);
            return NULL;
        }
        Py_DECREF(msg);
        pos = start + (Py_ssize_t)length;
    }
    result = Py_BuildValue("(Nn)", found, pos);
    return result;
}

static PyMethodDef speedups_methods[] = {
    {"apply_mask", (PyCFunction)(void (*)(void))apply_mask, METH_FASTCALL, apply_mask_doc},
    {"build_frame", (PyCFunction)(void (*)(void))build_frame, METH_FASTCALL, build_frame_doc},
    {"parse_messages", (PyCFunction)(void (*)(void))parse_messages, METH_FASTCALL, parse_messages_doc},
    {NULL, NULL, 0, NULL},
};

/* The module holds no state, so it is safe in subinterpreters and without a GIL. */
static PyModuleDef_Slot speedups_slots[] = {
#if PY_VERSION_HEX >= 0x030C0000
    {Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},
#endif
#if PY_VERSION_HEX >= 0x030D0000
    {Py_mod_gil, Py_MOD_GIL_NOT_USED},
#endif
    {0, NULL},
};

static struct PyModuleDef speedups_module = {
    PyModuleDef_HEAD_INIT,
    "websocket._sansio._speedups",
    "Compiled masking, frame building and message parsing for wsline (optional; mask.py and protocol.py have the pure versions).",
    0,
    speedups_methods,
    speedups_slots,
    NULL,
    NULL,
    NULL,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    return PyModuleDef_Init(&speedups_module);
}
