/* lode.h — umbrella header for the lode runtime's public C API. */
#ifndef LODE_H
#define LODE_H

#define LODE_VERSION "0.1.0"

#include "lode/task.h"
#include "lode/log.h"
#include "lode/error.h"
#include "lode/luautil.h"

#endif
