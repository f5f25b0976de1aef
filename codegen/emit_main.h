/* emit_main.h - optional standalone driver program for a generated model. */
#ifndef QCC_EMIT_MAIN_H
#define QCC_EMIT_MAIN_H
#include "qcc.h"

/* Writes a C99 main() at path that includes `header` and calls NAME_run.
 * weights_file: the model was compiled with --weights-file, so the program
 * takes --weights FILE and installs it with NAME_set_weights first. */
int qcc_emit_main(MlirModule m, const char *path, const char *name, const char *header, bool weights_file);

#endif
