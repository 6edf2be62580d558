# Writes OUT (a header defining KILN_GIT_REV) from `git describe` of SRC, touching it only
# when the revision changed, so a commit recompiles one file instead of all of kiln_lib.
execute_process(COMMAND git describe --always --dirty --abbrev=12 WORKING_DIRECTORY ${SRC}
                OUTPUT_VARIABLE rev OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(NOT rev)
  set(rev unknown)
endif()
file(WRITE ${OUT}.tmp "#define KILN_GIT_REV \"${rev}\"\n")
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different ${OUT}.tmp ${OUT})
file(REMOVE ${OUT}.tmp)
