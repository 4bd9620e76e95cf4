#include "tests/storage/fixture.h"
