# Compile-fail check with the diagnostic's text checked (run with `cmake -P`).
#
# Compiles SOURCE with -fsyntax-only -DLATENT_SHOULD_FAIL and passes only if
#   1. the compile fails,
#   2. the regular expression EXPECT (the rule's carrier with its position and both sizes) matches
#      within the first LINES lines of the compiler's diagnostic (default 2), not counting the include
#      chain before it ("In file included from ..." and its "from ..." lines: how deep the rule's
#      header sits below the case's #include is not part of the check), and
#   3. the static_assert sentence SENTENCE (a literal string) appears somewhere in the output, right
#      after the regular expression SENTENCE_PREFIX when one is given (the compiler's "static assertion
#      failed" wording, so that the sentence is the error's, not a line of quoted source).
# A compile that fails for an unrelated reason (a typo, a missing include) fails check 2, so it cannot
# pass as a "failure".
#
# Variables: CXX (compiler), SOURCE, EXPECT, SENTENCE, optional SENTENCE_PREFIX and LINES; FLAGS
# (compiler flags), INCLUDES (include directories: PROJECT_INCLUDE as -I, the others as -isystem, as CMake does for
# imported targets, except the compiler's IMPLICIT_INCLUDES), all lists joined with '|' (a ';' does not
# survive ctest's command line).

cmake_minimum_required(VERSION 3.25)  # policies: IN_LIST, ...

# MODE=pch: precompile SOURCE (tests/compile_fail/deps.hpp, copied into the build tree) into PCH_OUTPUT with
# the same FLAGS and INCLUDES as the cases, and stop. A case given PCH (that copy's path) force-includes it:
# g++ and clang both take the precompiled file beside it (deps.hpp.gch, deps.hpp.pch) instead of parsing it,
# and g++ is told to warn (an error, with -Werror) if it cannot use it.
if(MODE STREQUAL "pch")
  set(required CXX SOURCE PCH_OUTPUT)
else()
  set(required CXX SOURCE EXPECT SENTENCE)
endif()
foreach(var ${required})
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "check_compile_fail.cmake: ${var} is not set")
  endif()
endforeach()
if(NOT DEFINED LINES)
  set(LINES 2)
endif()
string(REPLACE "|" ";" flags "${FLAGS}")
list(REMOVE_ITEM flags "")
string(REPLACE "|" ";" includes "${INCLUDES}")
string(REPLACE "|" ";" implicit "${IMPLICIT_INCLUDES}")
list(REMOVE_ITEM includes "")
list(REMOVE_DUPLICATES includes)
foreach(dir IN LISTS includes)
  if(dir IN_LIST implicit)
    continue()
  elseif(dir STREQUAL PROJECT_INCLUDE)
    list(APPEND flags "-I${dir}")
  else()
    list(APPEND flags -isystem "${dir}")
  endif()
endforeach()

# ASCII quotes and no colour, whatever ctest's environment says.
set(ENV{LC_ALL} C)
set(ENV{GCC_COLORS} "")
if(MODE STREQUAL "pch")
  execute_process(COMMAND "${CXX}" ${flags} -x c++-header "${SOURCE}" -o "${PCH_OUTPUT}.tmp"
                  RESULT_VARIABLE result OUTPUT_VARIABLE output ERROR_VARIABLE output)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "compile_fail: precompiling ${SOURCE} failed:\n${output}")
  endif()
  file(RENAME "${PCH_OUTPUT}.tmp" "${PCH_OUTPUT}")
  return()
endif()
set(pch_flags "")
if(DEFINED PCH AND NOT PCH STREQUAL "")
  set(pch_flags -include "${PCH}")
  if(NOT CXX MATCHES "clang")
    list(APPEND pch_flags -Winvalid-pch)
  endif()
endif()
set(command "${CXX}" ${flags} ${pch_flags} -fsyntax-only -fdiagnostics-color=never -DLATENT_SHOULD_FAIL "${SOURCE}")
execute_process(COMMAND ${command} RESULT_VARIABLE result OUTPUT_VARIABLE output ERROR_VARIABLE output)
list(JOIN command " " command_line)

# The include chain at the start of the output (g++: "In file included from a:1," then "                 from
# b:2:"; clang: one "In file included from a:1:" line per level), kept apart.
set(chain "")
set(rest "${output}")
while(rest MATCHES "^(In file included from [^\n]*|                 from [^\n]*)\n")
  string(APPEND chain "${CMAKE_MATCH_0}")
  string(LENGTH "${CMAKE_MATCH_0}" length)
  string(SUBSTRING "${rest}" ${length} -1 rest)
endwhile()

# The first LINES lines after it.
set(head "")
foreach(i RANGE 1 ${LINES})
  string(FIND "${rest}" "\n" newline)
  if(newline EQUAL -1)
    string(APPEND head "${rest}")
    break()
  endif()
  math(EXPR after "${newline} + 1")
  string(SUBSTRING "${rest}" 0 ${after} line)
  string(APPEND head "${line}")
  string(SUBSTRING "${rest}" ${after} -1 rest)
endforeach()

# Shows the start of the output (long template names make whole outputs unreadable).
set(excerpt "")
set(rest "${output}")
foreach(i RANGE 1 20)
  string(FIND "${rest}" "\n" newline)
  if(newline EQUAL -1)
    string(APPEND excerpt "${rest}")
    break()
  endif()
  math(EXPR after "${newline} + 1")
  string(SUBSTRING "${rest}" 0 ${after} line)
  string(APPEND excerpt "${line}")
  string(SUBSTRING "${rest}" ${after} -1 rest)
endforeach()

if(result EQUAL 0)
  message(FATAL_ERROR "compile_fail: ${SOURCE} compiled with LATENT_SHOULD_FAIL defined; the rule did not fire.\n"
                      "command: ${command_line}\n${output}")
endif()
if(NOT head MATCHES "${EXPECT}")
  message(FATAL_ERROR "compile_fail: ${SOURCE} failed, but not with the expected diagnostic in its first ${LINES} "
                      "lines after the include chain.\nexpected (regex): ${EXPECT}\ncommand: ${command_line}\n"
                      "first lines of the output:\n${excerpt}")
endif()
if(DEFINED SENTENCE_PREFIX AND NOT SENTENCE_PREFIX STREQUAL "")
  # The sentence as a regex: every character a regex gives a meaning to, escaped.
  string(REGEX REPLACE "([][+.*()^$?|\\{}])" "\\\\\\1" sentence_regex "${SENTENCE}")
  if(output MATCHES "${SENTENCE_PREFIX}${sentence_regex}")
    set(at 0)
  else()
    set(at -1)
  endif()
  set(SENTENCE "${SENTENCE_PREFIX}${SENTENCE}")  # for the message below
else()
  string(FIND "${output}" "${SENTENCE}" at)
endif()
if(at EQUAL -1)
  message(FATAL_ERROR "compile_fail: ${SOURCE} failed with the expected carrier but without the sentence\n"
                      "  ${SENTENCE}\ncommand: ${command_line}\nfirst lines of the output:\n${excerpt}")
endif()
message(STATUS "compile_fail: ${SOURCE}: the expected diagnostic, in the first ${LINES} lines after the include "
               "chain:\n${chain}${head}")
