# Tests of the checks area: target_sources(waflow_unit_tests PRIVATE ...) and add_test(...).
