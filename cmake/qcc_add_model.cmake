# qcc_add_model(TARGET NAME MODEL model.onnx [QFLAGS flag...] [CALIB DIR] [WEIGHTS_FILE])
#
# Compiles MODEL with qcc at build time into NAME.c and NAME.h (in
# ${CMAKE_CURRENT_BINARY_DIR}/qcc/NAME/, on TARGET's include path) and adds
# them to TARGET's sources: TARGET's code includes "NAME.h" and calls
# NAME_run (docs/generated-c.md). QFLAGS are passed to qcc as given
# (e.g. `-q w8a8 --integer-only`); CALIB is the --calib folder. Relative
# paths are taken from the current source folder. With --runtime=external
# among QFLAGS TARGET also links qcc::qrt; otherwise only libm.
# WEIGHTS_FILE: the weights go to NAME.bin, linked into TARGET by the
# assembler file NAME.S (qcc --weights-file NAME.S), so no C compiler
# parses them; TARGET's code then calls
# NAME_set_weights(NAME_weights_data, NAME_WEIGHTS_SIZE) before NAME_run.
#
# qcc runs again when its output may differ: the model, any file under
# CALIB or the qcc binary changed (file dependencies), or the command line
# did (new QFLAGS, another qcc): CMake's Makefile and Ninja generators both
# re-run a custom command whose command changed (CMakeRuleHashes.txt,
# .ninja_log), so the flags need no stamp file.
#
# TARGET must be defined in the calling folder: CMake attaches a custom
# command's rule only to targets of its own folder.
function(qcc_add_model target name)
  cmake_parse_arguments(PARSE_ARGV 2 arg "WEIGHTS_FILE" "MODEL;CALIB" "QFLAGS")
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "qcc_add_model(${target} ${name}): unexpected arguments '${arg_UNPARSED_ARGUMENTS}' "
                        "(expected MODEL FILE [QFLAGS flag...] [CALIB DIR] [WEIGHTS_FILE])")
  endif()
  if(NOT TARGET ${target})
    message(FATAL_ERROR "qcc_add_model: '${target}' is not a target (add_executable or add_library it first)")
  endif()
  get_target_property(target_dir ${target} SOURCE_DIR)
  if(NOT target_dir STREQUAL CMAKE_CURRENT_SOURCE_DIR)
    message(FATAL_ERROR "qcc_add_model: call it in the folder that defines '${target}' (${target_dir})")
  endif()
  # NAME prefixes the C functions and macros qcc writes.
  if(NOT name MATCHES "^[A-Za-z_][A-Za-z0-9_]*$")
    message(FATAL_ERROR "qcc_add_model(${target} ${name}): NAME must be a C identifier")
  endif()
  if(NOT arg_MODEL)
    message(FATAL_ERROR "qcc_add_model(${target} ${name}): give MODEL model.onnx")
  endif()

  get_filename_component(model "${arg_MODEL}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
  set(flags ${arg_QFLAGS})
  set(inputs "${model}")
  if(DEFINED arg_CALIB)
    get_filename_component(calib "${arg_CALIB}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    if(NOT IS_DIRECTORY "${calib}")
      message(FATAL_ERROR "qcc_add_model(${target} ${name}): CALIB '${calib}' is not a folder")
    endif()
    # CONFIGURE_DEPENDS: a file added to or removed from the folder re-runs
    # this glob (and so qcc) at the next build.
    file(GLOB_RECURSE calib_files CONFIGURE_DEPENDS "${calib}/*")
    list(APPEND flags --calib "${calib}")
    list(APPEND inputs ${calib_files})
  endif()

  set(out "${CMAKE_CURRENT_BINARY_DIR}/qcc/${name}")
  file(MAKE_DIRECTORY "${out}")
  set(outputs "${out}/${name}.c" "${out}/${name}.h")
  set(weights_outputs "")
  if(arg_WEIGHTS_FILE)
    list(APPEND flags --weights-file "${out}/${name}.S")
    set(weights_outputs "${out}/${name}.S" "${out}/${name}.bin")
  endif()
  add_custom_command(
    OUTPUT ${outputs} ${weights_outputs}
    COMMAND qcc::qcc "${model}" -o "${out}/${name}.c" --name ${name} ${flags}
    DEPENDS ${inputs} "$<TARGET_FILE:qcc::qcc>"
    COMMENT "qcc: compiling ${arg_MODEL} to ${name}.c"
    VERBATIM)
  if(arg_WEIGHTS_FILE)
    # The C compiler's driver preprocesses and assembles NAME.S (projects
    # need not enable ASM); .incbin finds NAME.bin on the assembler's
    # include path; the object re-builds when the weights change.
    set(object "${out}/${name}_weights${CMAKE_C_OUTPUT_EXTENSION}")
    add_custom_command(
      OUTPUT "${object}"
      COMMAND "${CMAKE_C_COMPILER}" -c "${out}/${name}.S" "-Wa,-I,${out}" -o "${object}"
      DEPENDS "${out}/${name}.S" "${out}/${name}.bin"
      COMMENT "qcc: linking in ${name}.bin"
      VERBATIM)
    list(APPEND outputs "${object}")
  endif()
  target_sources(${target} PRIVATE ${outputs})
  target_include_directories(${target} PUBLIC "${out}")

  # --runtime=external or --runtime external (qcc takes both spellings).
  set(runtime "")
  list(FIND flags "--runtime" i)
  list(LENGTH flags n)
  if(i GREATER -1)
    math(EXPR i "${i} + 1")
    if(i LESS n)
      list(GET flags ${i} runtime)
    endif()
  endif()
  if("--runtime=external" IN_LIST flags OR runtime STREQUAL "external")
    target_link_libraries(${target} PRIVATE qcc::qrt)
  else()
    target_link_libraries(${target} PRIVATE m)
  endif()
endfunction()
