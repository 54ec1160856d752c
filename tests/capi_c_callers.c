/* SPDX-License-Identifier: BSD-3-Clause
 *
 * C callers of the C ABI, for what only C can do: pass a back-end number
 * outside the enum's range (valid C; undefined behaviour if a C++ test made
 * the enum value itself). */
#include "evmgr.h"

int capi_new_with_backend_number(int number, evmgr_manager **out) {
  return evmgr_new((evmgr_backend)number, out);
}

const char *capi_backend_name_of_number(int number) {
  return evmgr_backend_name((evmgr_backend)number);
}

int capi_backend_available_number(int number) {
  return evmgr_backend_available((evmgr_backend)number);
}
