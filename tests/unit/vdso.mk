# tests/unit/test_vdso needs host/vdso.c, host/auxv.c and the embedded image besides the core
# library.
# Included from the Makefile; overrides the generic $(BUILD)/tests/unit/% rule for this test.
$(BUILD)/tests/unit/test_vdso: tests/unit/test_vdso.c host/vdso.h $(BUILD)/obj/host/vdso.o \
		$(BUILD)/obj/host/vdso_blob.o $(BUILD)/obj/host/auxv.o $(BUILD)/vdso.so
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DSGXEMU_VDSO_IMAGE_DEFAULT='"$(BUILD)/vdso.so"' -o $@ $< \
		$(BUILD)/obj/host/vdso.o $(BUILD)/obj/host/vdso_blob.o $(BUILD)/obj/host/auxv.o \
		$(BUILD)/obj/util/rawsys.o -lcmocka
