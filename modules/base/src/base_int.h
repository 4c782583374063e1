/* SPDX-License-Identifier: Apache-2.0 */
/* Private declarations shared by base's own files. */
#pragma once

#ifndef UD_BUILDING_BASE
#error "base_int.h is private to the base module"
#endif

#include "ud/base.h"

#ifdef UD_LAZY_LIBS
/* Why libcrypto could not be opened (crypto_lazy.c). */
const char *base_crypto_error(void);
#endif
