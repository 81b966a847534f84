# tools/make/install.mk — `make install` (libraries, headers, pkg-config file) and the examples,
# built as a user of the installed library would build them.

# `make install PREFIX=/opt/csg`: libcsg.a, libcsg.so (versioned), include/csg/ and
# lib/pkgconfig/csg.pc, whose Libs.private carries this build's OpenBLAS/CUDA link flags
# (static linking: `pkg-config --static --libs csg`).
PREFIX  ?= /usr/local
LIBDIR  ?= $(PREFIX)/lib
INCDIR  ?= $(PREFIX)/include
install: $(LIB) $(SHLIB)
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCDIR)
	install -m 644 $(LIB) $(DESTDIR)$(LIBDIR)/libcsg.a
	install -m 755 $(SHLIB) $(DESTDIR)$(LIBDIR)/libcsg.so.$(VERSION)
	ln -sf libcsg.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libcsg.so.$(SO_MAJOR)
	ln -sf libcsg.so.$(SO_MAJOR) $(DESTDIR)$(LIBDIR)/libcsg.so
	cp -r include/csg $(DESTDIR)$(INCDIR)/
	sed -e 's|@PREFIX@|$(PREFIX)|; s|@LIBDIR@|$(LIBDIR)|; s|@INCDIR@|$(INCDIR)|; s|@VERSION@|$(VERSION)|' \
	    -e 's|@LIBS_PRIVATE@|$(LDLIBS) -lstdc++ -lm|' tools/csg.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/csg.pc
	@echo "installed csg $(VERSION) under $(DESTDIR)$(PREFIX) ($(FEATURES))"

# Examples (examples/*.c, *.cpp) built as a user of the installed library would: installed into
# $(BUILD)/examples-prefix, compiled with `pkg-config --cflags --libs csg`. examples-test does the
# same in a temporary prefix and runs them on a generated model and image (tools/examples_test.sh).
EXAMPLES_PREFIX := $(abspath $(BUILD))/examples-prefix
.PHONY: examples examples-test
examples: $(LIB) $(SHLIB)
	@$(MAKE) --no-print-directory -s install PREFIX=$(EXAMPLES_PREFIX)
	@mkdir -p $(BUILD)/examples
	PKG_CONFIG_PATH=$(EXAMPLES_PREFIX)/lib/pkgconfig; export PKG_CONFIG_PATH; \
	cc -std=c99 -Wall -Wextra -o $(BUILD)/examples/classify-c examples/classify.c $$(pkg-config --cflags --libs csg) && \
	c++ -std=c++17 -O2 -Wall -Wextra -o $(BUILD)/examples/classify-cpp examples/classify.cpp $$(pkg-config --cflags --libs csg) && \
	c++ -std=c++17 -O2 -Wall -Wextra -o $(BUILD)/examples/make-example-model examples/make_example_model.cpp $$(pkg-config --cflags --libs csg)
examples-test: $(LIB) $(SHLIB)
	bash tools/examples_test.sh BUILD=$(BUILD) CUDA=$(CUDA)
