# Puts the portal's third-party browser files from node_modules (installed by scripts/deps.sh
# from package.json) into web/vendor/ (gitignored), which the server serves at /vendor/:
# igv.js is copied as published; oncoprintjs is bundled with its imports into one ES module by
# esbuild (scripts/vendor-oncoprint.mjs, needs node).
# Usage: cmake -DSRC=<node_modules> -DDST=<web/vendor> [-DNODE=<node>] [-DONCOPRINTJS=OFF] -P vendor.cmake
# A missing package is reported, not fatal: the page that needs it says so in the browser
# (igv.js) or draws without it (the OncoPrint falls back to the page's own SVG).
set(files
  "igv/dist/igv.esm.min.js")   # igv.js, the official ES module build (npm package igv)
file(MAKE_DIRECTORY ${DST})
foreach(f ${files})
  get_filename_component(name ${f} NAME)
  if(EXISTS ${SRC}/${f})
    file(COPY_FILE ${SRC}/${f} ${DST}/${name} ONLY_IF_DIFFERENT)
  else()
    message(STATUS "vendor: ${SRC}/${f} is missing (run scripts/deps.sh); the portal works without it")
  endif()
endforeach()

if(DEFINED ONCOPRINTJS AND NOT ONCOPRINTJS)
  file(REMOVE ${DST}/oncoprint.bundle.js ${DST}/oncoprint.bundle.LICENSES.txt)
  message(STATUS "vendor: oncoprintjs not bundled (ZG_ONCOPRINTJS=OFF); the gene-query page draws its own SVG OncoPrint")
elseif(NODE)
  execute_process(COMMAND ${NODE} ${CMAKE_CURRENT_LIST_DIR}/../scripts/vendor-oncoprint.mjs ${SRC} ${DST}
                  OUTPUT_VARIABLE out ERROR_VARIABLE out RESULT_VARIABLE rc OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(out)
    message(STATUS "${out}")
  endif()
  if(NOT rc EQUAL 0)
    message(STATUS "vendor: building oncoprint.bundle.js failed (${rc}); the gene-query page draws its own SVG OncoPrint")
  endif()
else()
  message(STATUS "vendor: node not found, oncoprint.bundle.js not built; the gene-query page draws its own SVG OncoPrint")
endif()
