# Runs scdoc on one page: scdoc reads standard input and writes standard
# output, which a build rule cannot redirect portably.
#   cmake -DSCDOC=/usr/bin/scdoc -DIN=page.scd -DOUT=page.1 -P scdoc.cmake
execute_process(COMMAND ${SCDOC} INPUT_FILE ${IN} OUTPUT_FILE ${OUT}.tmp RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  file(REMOVE ${OUT}.tmp)
  message(FATAL_ERROR "scdoc ${IN}: ${err}")
endif()
file(RENAME ${OUT}.tmp ${OUT})
