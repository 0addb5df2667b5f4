# tests/unit/test_cpuinfo needs host/cpuinfo.c; the test supplies the two host symbols it uses
# (host_active, cpuid_query). Overrides the generic $(BUILD)/tests/unit/% rule for this test.
$(BUILD)/tests/unit/test_cpuinfo: tests/unit/test_cpuinfo.c host/cpuinfo.h \
		$(BUILD)/obj/host/cpuinfo.o $(BUILD)/obj/util/rawsys.o
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/obj/host/cpuinfo.o $(BUILD)/obj/util/rawsys.o -lcmocka
