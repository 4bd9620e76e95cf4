# Tests of the variable and type checks: target_sources(waflow_unit_tests PRIVATE ...).
