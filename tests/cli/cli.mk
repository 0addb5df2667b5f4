# Helper programs of the CLI tests (tests/cli/test_cli.sh): built with `make integ` beside the
# other test helpers, from the test enclave's loader.
CLI_HELPERS := $(BUILD)/tests/helpers/stat_helper
integ: $(CLI_HELPERS)

$(BUILD)/tests/helpers/stat_helper: tests/cli/stat_helper.c tests/integ/encl/test_encl.h \
		lib/encl_loader.h $(ENCL_LOADER_OBJ) $(BUILD)/libsgxemu_core.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(ENCL_LOADER_OBJ) $(BUILD)/libsgxemu_core.a $(LDLIBS)

CLI_HELPERS += $(BUILD)/tests/helpers/trace_helper
integ: $(BUILD)/tests/helpers/trace_helper
$(BUILD)/tests/helpers/trace_helper: tests/cli/trace_helper.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $<
