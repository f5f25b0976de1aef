# lit configuration for qcc's test suites (dialects, import, passes,
# codegen, e2e). Tools: %qcc, %qcc-opt, FileCheck, not, count; %cc compiles
# generated C strictly and with sanitizers; %python is Debian's python3
# (numpy, onnx) used to build small models and compare outputs.
import os
import lit.formats

config.name = "qcc"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mlir", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.qcc_obj_root, "test")
config.excludes = ["unit", "tools", "conformance", "Inputs", "lit.cfg.py"]

llvm_bin = "/usr/lib/llvm-19/bin"
config.environment["PATH"] = os.pathsep.join([config.qcc_tools_dir, llvm_bin, config.environment.get("PATH", os.environ.get("PATH", ""))])
config.substitutions.append(("%qcc-opt", os.path.join(config.qcc_tools_dir, "qcc-opt")))
config.substitutions.append(("%qcc", os.path.join(config.qcc_tools_dir, "qcc")))
config.substitutions.append(("%python", "/usr/bin/python3"))
config.substitutions.append(("%src", config.qcc_src_root))
config.substitutions.append(("%build", config.qcc_obj_root))
config.substitutions.append(("%runtime", os.path.join(config.qcc_src_root, "runtime")))
# (no -g: it costs a quarter of the compile time; UBSan reports name file:line
# without it and ASan reports name the functions)
strict = "-std=c99 -Wall -Wextra -pedantic -Werror -O1 -fsanitize=address,undefined -fno-sanitize-recover=all"
config.substitutions.append(("%cc", "cc " + strict))
# the runtime built once with these flags (test/CMakeLists.txt's qrt_san),
# for generated C that links the runtime library (--runtime=external)
config.substitutions.append(("%qrt_san", os.path.join(config.qcc_obj_root, "test", "libqrt_san.a")))
config.substitutions.append(("%clang", "clang " + strict))
config.environment["ASAN_OPTIONS"] = "detect_leaks=0"
