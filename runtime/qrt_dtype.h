/* qrt_dtype.h - element types shared by the runtime and the compiler.
 *
 * The numbering is ONNX's TensorProto.DataType, so a value read from a
 * model or a .pb tensor needs no translation table. */
#ifndef QRT_DTYPE_H
#define QRT_DTYPE_H

#define QRT_MAX_RANK 8

typedef enum qrt_dtype {
  QRT_UNDEFINED = 0,
  QRT_F32 = 1,
  QRT_U8 = 2,
  QRT_I8 = 3,
  QRT_U16 = 4,
  QRT_I16 = 5,
  QRT_I32 = 6,
  QRT_I64 = 7,
  QRT_STRING = 8, /* never supported: listed so the numbering is complete */
  QRT_BOOL = 9,   /* stored as one byte, 0 or 1 */
  QRT_F16 = 10,   /* stored as uint16_t bits */
  QRT_F64 = 11,
  QRT_U32 = 12,
  QRT_U64 = 13,
  /* 14, 15: complex64/128, not supported */
  QRT_BF16 = 16   /* bfloat16, stored as uint16_t bits (f32's upper half) */
} qrt_dtype;

#endif
