# Runs activation_gallery (on the CPU, or on DEVICE) and checks what it measured against the
# course's facts (docs/course.md, docs/design.md §2-§3; written down here independently of the sample), that
# every SVG it names exists and is a well-formed plot, and that the plots' lines are what their
# legends say (RReLU's training bounds; step visible on top of ReLU in course.svg).
# Run: cmake -DGALLERY=<activation_gallery> -DOUT=<dir> [-DDEVICE=cuda]
#            -P check_activation_gallery.cmake
if(NOT GALLERY OR NOT OUT)
  message(FATAL_ERROR "usage: cmake -DGALLERY=<activation_gallery> -DOUT=<dir> "
                      "-P ${CMAKE_CURRENT_LIST_FILE}")
endif()
if(NOT DEVICE)
  set(DEVICE cpu)
endif()
file(REMOVE_RECURSE "${OUT}")  # no stale plots from an earlier run
execute_process(COMMAND "${GALLERY}" --device ${DEVICE} --out "${OUT}" --json
                OUTPUT_VARIABLE output ERROR_VARIABLE errors RESULT_VARIABLE rc)
message("${output}${errors}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "activation_gallery exited with ${rc}")
endif()
string(STRIP "${output}" output)
string(REGEX MATCH "[^\n]*$" json "${output}")
string(JSON kind ERROR_VARIABLE json_error TYPE "${json}")
if(json_error OR NOT kind STREQUAL "OBJECT")
  message(FATAL_ERROR "the last line is not a JSON object: ${json}")
endif()

set(problems "")
macro(problem text)
  string(APPEND problems "\n  ${text}")
endmacro()

# A plot: starts with <svg, ends with </svg>, has at least `paths` <path> elements and text.
function(check_svg path paths)
  if(NOT EXISTS "${path}")
    set(problems "${problems}\n  ${path}: missing" PARENT_SCOPE)
    return()
  endif()
  file(READ "${path}" svg)
  string(STRIP "${svg}" svg)
  string(REGEX MATCHALL "<path d=\"M[^\"]+\"" found "${svg}")
  list(LENGTH found count)
  if(NOT svg MATCHES "^<svg xmlns=\"http://www.w3.org/2000/svg\"" OR NOT svg MATCHES "</svg>$"
     OR NOT svg MATCHES "<text" OR count LESS paths)
    set(problems "${problems}\n  ${path}: not a well-formed plot with ${paths} lines" PARENT_SCOPE)
  endif()
endfunction()

# The line labelled `label` in the SVG text `svg`: its attributes (after d), the y of its first
# point (in pixels: smaller is higher), and its position among the file's lines (-1: none).
function(svg_line svg label attributes_var first_y_var index_var)
  string(REGEX MATCHALL "<path d=\"[^\"]*\"[^>]*><title>[^<]*</title>" paths "${svg}")
  set(index 0)
  set(${index_var} -1 PARENT_SCOPE)
  foreach(p IN LISTS paths)
    if(p MATCHES "^<path d=\"M[0-9.]+,([0-9.]+)[^\"]*\"([^>]*)><title>([^<]*)</title>$" AND
       CMAKE_MATCH_3 STREQUAL label)
      set(${first_y_var} "${CMAKE_MATCH_1}" PARENT_SCOPE)
      set(${attributes_var} "${CMAKE_MATCH_2}" PARENT_SCOPE)
      set(${index_var} ${index} PARENT_SCOPE)
    endif()
    math(EXPR index "${index} + 1")
  endforeach()
endfunction()

# op nonlinear continuous differentiable monotonic zero_centred bounded max|f'| dead_region
# (max|f'| as low:high; the logistic's is 1/4 at z = 0, the reason sigmoid stacks vanish)
set(expected
  "identity|OFF|ON|everywhere|ON|ON|OFF|0.999999:1.000001|none"
  "step|ON|OFF|except at 0|ON|OFF|ON|0:0|everywhere"
  "sigmoid|ON|ON|everywhere|ON|OFF|ON|0.2499999:0.2500001|none"
  "tanh|ON|ON|everywhere|ON|ON|ON|0.999999:1.000001|none"
  "relu|ON|ON|except at 0|ON|OFF|OFF|0.999999:1.000001|z <= 0"
  "leaky_relu|ON|ON|except at 0|ON|OFF|OFF|0.999999:1.000001|none"
  "prelu|ON|ON|except at 0|ON|OFF|OFF|0.999999:1.000001|none"
  "rrelu|ON|ON|except at 0|ON|OFF|OFF|0.999999:1.000001|none"
  # The exponential family (max |f'| on the float grid,
  # 50 digits): selu's left branch at 0 is lambda*alpha; silu' peaks near 2.3994, mish' near
  # 1.6; tanhshrink' = tanh^2 is 0 at 0.
  "elu|ON|ON|everywhere|ON|OFF|OFF|0.999999:1.000001|none"
  "selu|ON|ON|except at 0|ON|OFF|OFF|1.758099:1.7581|none"
  "celu|ON|ON|everywhere|ON|OFF|OFF|0.999999:1.000001|none"
  "silu|ON|ON|everywhere|OFF|OFF|OFF|1.099839:1.09984|none"
  "swish|ON|ON|everywhere|OFF|OFF|OFF|1.099839:1.09984|none"
  "quick_gelu|ON|ON|everywhere|OFF|OFF|OFF|1.099839:1.09984|none"
  "mish|ON|ON|everywhere|OFF|OFF|OFF|1.088498:1.088499|none"
  "softplus|ON|ON|everywhere|ON|OFF|OFF|0.997527:0.997528|none"
  "logsigmoid|ON|ON|everywhere|ON|OFF|OFF|0.997527:0.997528|none"
  "tanhshrink|ON|ON|everywhere|ON|ON|OFF|0.999975:0.999976|z = 0"
  "softsign|ON|ON|everywhere|ON|ON|ON|0.999999:1.000001|none")
set(keys op nonlinear continuous differentiable monotonic zero_centred bounded
    max_abs_derivative dead_region)

# One spelling of the device ("cpu" or "cuda") in every sample; what ran, in words, in "backend".
string(JSON device GET "${json}" device)
if(NOT device STREQUAL DEVICE)
  problem("device is '${device}', not ${DEVICE}")
endif()
string(JSON backend ERROR_VARIABLE missing GET "${json}" backend)
if(missing OR backend STREQUAL "")
  problem("no backend")
endif()
set(booleans nonlinear continuous monotonic zero_centred bounded bounded_below bounded_above)
string(JSON count LENGTH "${json}" ops)
list(LENGTH expected want_count)
if(count LESS want_count)
  problem("${count} ops, fewer than the course's ${want_count}")
endif()
set(index 0)
foreach(row IN LISTS expected)
  string(REPLACE "|" ";" want "${row}")
  list(GET want 0 op)
  foreach(k RANGE 8)
    list(GET keys ${k} key)
    list(GET want ${k} value)
    string(JSON got ERROR_VARIABLE missing GET "${json}" ops ${index} ${key})
    if(missing)
      problem("${op}: no ${key}")
    elseif(key STREQUAL "max_abs_derivative")  # value: "low:high"
      string(REPLACE ":" ";" bounds "${value}")
      list(GET bounds 0 low)
      list(GET bounds 1 high)
      if(NOT got GREATER_EQUAL low OR NOT got LESS_EQUAL high)
        problem("${op}: max_abs_derivative ${got}, not in [${low}, ${high}]")
      endif()
    elseif(NOT got STREQUAL value)
      problem("${op}: ${key} '${got}', not '${value}'")
    endif()
  endforeach()
  foreach(key IN LISTS booleans)  # JSON booleans, not strings or numbers
    string(JSON kind ERROR_VARIABLE missing TYPE "${json}" ops ${index} ${key})
    if(NOT missing AND NOT kind STREQUAL "BOOLEAN")
      problem("${op}: ${key} is a ${kind}, not a boolean")
    endif()
  endforeach()
  # Each result carries the configuration that produced it.
  string(JSON config_device ERROR_VARIABLE missing GET "${json}" ops ${index} config device)
  string(JSON config_points ERROR_VARIABLE missing_points GET "${json}" ops ${index} config grid 2)
  if(missing OR missing_points OR NOT config_device STREQUAL DEVICE OR
     NOT config_points EQUAL 1201)
    problem("${op}: config is not {device: ${DEVICE}, grid: [-6, 6, 1201], ...}")
  endif()
  string(JSON error GET "${json}" ops ${index} derivative_error)
  if(NOT error LESS 1e-3)
    problem("${op}: f' differs from the difference quotient of f by ${error}")
  endif()
  string(JSON svg GET "${json}" ops ${index} svg)
  if(NOT svg STREQUAL "${OUT}/${op}.svg")
    problem("${op}: svg '${svg}', not '${OUT}/${op}.svg'")
  endif()
  check_svg("${svg}" 2)
  math(EXPR index "${index} + 1")
endforeach()
# The ops after the course's (every other op of actlayer's list): plotted, with f' the
# derivative of f wherever f is smooth, and their configuration.
math(EXPR last "${count} - 1")
if(want_count LESS_EQUAL last)
  foreach(index RANGE ${want_count} ${last})
    string(JSON op GET "${json}" ops ${index} op)
    string(JSON error GET "${json}" ops ${index} derivative_error)
    if(NOT error LESS_EQUAL 1e-3)
      problem("${op}: f' differs from the difference quotient of f by ${error}")
    endif()
    string(JSON config_device ERROR_VARIABLE missing GET "${json}" ops ${index} config device)
    if(missing OR NOT config_device STREQUAL DEVICE)
      problem("${op}: no config.device ${DEVICE}")
    endif()
    string(JSON svg GET "${json}" ops ${index} svg)
    if(NOT svg STREQUAL "${OUT}/${op}.svg")
      problem("${op}: svg '${svg}', not '${OUT}/${op}.svg'")
    endif()
    check_svg("${svg}" 2)
  endforeach()
endif()
check_svg("${OUT}/course.svg" 4)

# rrelu.svg: the training curves are labelled by the slope they use, and are those curves. At
# z = -6 (every line's first point) f = -6/8 with the lower slope, -6/3 with the upper: the
# lower slope's line starts higher (a smaller y in pixels), and the eval line (slope 11/48)
# between them. No "min"/"max" labels: those were the extremes of f, the opposite slopes.
string(JSON rrelu_lower ERROR_VARIABLE missing GET "${json}" ops 7 config lower)
if(missing OR NOT rrelu_lower EQUAL 0.125)
  problem("rrelu: config.lower is '${rrelu_lower}', not 0.125")
endif()
if(EXISTS "${OUT}/rrelu.svg")
  file(READ "${OUT}/rrelu.svg" svg)
  svg_line("${svg}" "f train, slope = lower (1/8)" attrs y_lower at_lower)
  svg_line("${svg}" "f train, slope = upper (1/3)" attrs y_upper at_upper)
  svg_line("${svg}" "f' train, slope = lower (1/8)" attrs dy_lower at_dlower)
  svg_line("${svg}" "f' train, slope = upper (1/3)" attrs dy_upper at_dupper)
  svg_line("${svg}" "f (eval, slope (l + u)/2)" attrs y_eval at_eval)
  if(at_lower LESS 0 OR at_upper LESS 0 OR at_dlower LESS 0 OR at_dupper LESS 0 OR at_eval LESS 0)
    problem("rrelu.svg: no line labelled f or f' train, slope = lower (1/8) or upper (1/3), or f (eval, slope (l + u)/2)")
  elseif(NOT y_lower LESS y_eval OR NOT y_eval LESS y_upper)
    problem("rrelu.svg: at z = -6 the lines are not in the order slope 1/8 (y ${y_lower}), eval (y ${y_eval}), slope 1/3 (y ${y_upper})")
  elseif(NOT dy_upper LESS dy_lower)  # f' = 1/3 lies above f' = 1/8
    problem("rrelu.svg: f' with slope 1/3 (y ${dy_upper}) is not above f' with 1/8 (y ${dy_lower})")
  endif()
  if(svg MATCHES ">[^<]*(min|max)</t")
    problem("rrelu.svg: a line is still labelled min or max")
  endif()
endif()

# course.svg: step is 0 for z < 0 along ReLU's 0: it is drawn after ReLU, dashed, to show.
if(EXISTS "${OUT}/course.svg")
  file(READ "${OUT}/course.svg" svg)
  svg_line("${svg}" "step" step_attrs y at_step)
  svg_line("${svg}" "ReLU" relu_attrs y at_relu)
  if(at_step LESS 0 OR at_relu LESS 0)
    problem("course.svg: no line labelled step or ReLU")
  elseif(NOT at_step GREATER at_relu OR NOT step_attrs MATCHES "stroke-dasharray")
    problem("course.svg: step's line is not dashed on top of ReLU's (its 0 branch hides)")
  endif()
endif()

# RReLU training draws its slopes from [1/8, 1/3): the observed band lies inside and nearly
# fills it (32 draws at each of 600 negative grid points).
string(JSON band_lo GET "${json}" rrelu_training_slopes 0)
string(JSON band_hi GET "${json}" rrelu_training_slopes 1)
if(band_lo LESS 0.125 OR band_lo GREATER 0.13 OR band_hi LESS 0.328 OR band_hi GREATER 0.33334)
  problem("rrelu training slopes [${band_lo}, ${band_hi}], not within and across [1/8, 1/3)")
endif()

if(problems)
  message(FATAL_ERROR "activation_gallery: wrong results:${problems}")
endif()
message(STATUS "activation_gallery: every property and plot as expected")
