# Copies the portal's third-party browser files from node_modules (installed by scripts/deps.sh
# from package.json) into web/vendor/ (gitignored), which the server serves at /vendor/.
# Usage: cmake -DSRC=<node_modules> -DDST=<web/vendor> -P vendor.cmake
# A missing package is reported, not fatal: the page that needs it says so in the browser.
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
