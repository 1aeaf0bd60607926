// C++ operator new and delete from libhakmem.so (run under LD_PRELOAD in
// each check mode): new's failure semantics, nothrow, aligned new, sized
// delete, and no false mismatched-free for matching pairs. With an argument
// it commits one mismatch, for the death tests (see CMakeLists.txt).
#include <dlfcn.h>
#include <malloc.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <vector>

static int passed, failed;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (cond) {                                                                        \
			passed++;                                                                  \
		} else {                                                                           \
			failed++;                                                                  \
			std::fprintf(stderr, "FAILED: %s (line %d)\n", #cond, __LINE__);           \
		}                                                                                  \
	} while (0)

// Too big for any allocator; volatile so the compiler cannot see it.
static volatile std::size_t huge = std::size_t(1) << 62;

static void operators_come_from_hakmem()
{
	const char *names[] = {"_Znwm", "_Znam", "_ZdlPv", "_ZdaPv", "_ZdlPvm",
	                       "_ZnwmSt11align_val_t", "_ZdlPvSt11align_val_t"};
	for (const char *n : names) {
		Dl_info info;
		void *f = dlsym(RTLD_DEFAULT, n);
		CHECK(f && dladdr(f, &info) && std::strstr(info.dli_fname, "libhakmem"));
	}
}

static int handler_calls;
static void handler_gives_up_on_third_call()
{
	if (++handler_calls == 3) std::set_new_handler(nullptr);
}

static void new_handler_is_called_until_removed_then_bad_alloc()
{
	handler_calls = 0;
	std::set_new_handler(handler_gives_up_on_third_call);
	bool thrown = false;
	try {
		char *p = new char[huge];
		delete[] p;
	} catch (const std::bad_alloc &) {
		thrown = true;
	}
	CHECK(thrown);
	CHECK(handler_calls == 3);
	CHECK(std::get_new_handler() == nullptr);
}

static void bad_alloc_is_thrown_and_caught()
{
	for (int array = 0; array < 2; array++) {
		bool thrown = false;
		try {
			void *p = array ? ::operator new[](huge) : ::operator new(huge);
			::operator delete(p);
		} catch (const std::bad_alloc &e) {
			thrown = true;
		}
		CHECK(thrown);
	}
	bool thrown = false;
	try {
		void *p = ::operator new(huge, std::align_val_t(64));
		::operator delete(p, std::align_val_t(64));
	} catch (const std::bad_alloc &) {
		thrown = true;
	}
	CHECK(thrown);
}

static void nothrow_returns_null()
{
	CHECK(::operator new(huge, std::nothrow) == nullptr);
	CHECK(::operator new[](huge, std::nothrow) == nullptr);
	CHECK(::operator new(huge, std::align_val_t(128), std::nothrow) == nullptr);
	CHECK(::operator new[](huge, std::align_val_t(128), std::nothrow) == nullptr);
	char *p = new (std::nothrow) char[100];
	CHECK(p != nullptr);
	delete[] p;
}

struct alignas(256) Wide {
	char bytes[300];
};

static void aligned_new_is_aligned()
{
	for (std::size_t align = 32; align <= (std::size_t(1) << 16); align <<= 1)
		for (std::size_t n : {std::size_t(1), std::size_t(100), std::size_t(5000),
		                      std::size_t(300000)}) {
			void *p = ::operator new(n, std::align_val_t(align));
			CHECK(reinterpret_cast<std::uintptr_t>(p) % align == 0);
			std::memset(p, 0x5a, n);
			::operator delete(p, std::align_val_t(align));
			void *q = ::operator new[](n, std::align_val_t(align));
			CHECK(reinterpret_cast<std::uintptr_t>(q) % align == 0);
			std::memset(q, 0x5a, n);
			::operator delete[](q, n, std::align_val_t(align));
		}
	Wide *w = new Wide;
	CHECK(reinterpret_cast<std::uintptr_t>(w) % 256 == 0);
	delete w;
	Wide *ws = new Wide[5];
	CHECK(reinterpret_cast<std::uintptr_t>(ws) % 256 == 0);
	delete[] ws;
}

// Sized delete's size is not checked: a wrong one is no error.
static void sized_delete_with_wrong_size_is_not_reported()
{
	void *p = ::operator new(100);
	::operator delete(p, 7);
	void *q = ::operator new[](300000);
	::operator delete[](q, 12);
	CHECK(true);
}

// Matching pairs of every size class and large spans: no false report.
static void matching_pairs_are_silent()
{
	std::vector<std::string> v;
	for (int i = 0; i < 2000; i++)
		v.push_back(std::string(static_cast<std::size_t>(i * 37 % 5000), 'x'));
	for (std::size_t n = 1; n < 400000; n = n * 3 + 1) {
		int *one = new int(7);
		char *arr = new char[n];
		void *m = std::malloc(n);
		std::memset(arr, 1, n);
		std::memset(m, 2, n);
		delete one;
		delete[] arr;
		std::free(m);
		char *grown = static_cast<char *>(std::realloc(std::malloc(16), n));
		std::free(grown);
	}
	CHECK(v.size() == 2000);
}

// The death tests: one mismatch each, whose report they expect.
static int commit_mismatch(const std::string &which)
{
	if (which == "free-of-new-array") {
		char *p = new char[32];
		std::free(p);
	} else if (which == "delete-of-malloc") {
		char *p = static_cast<char *>(std::malloc(16));
		delete p;
	} else if (which == "delete-array-of-new") {
		int *p = new int(1);
		delete[] p;
	} else if (which == "free-of-new-large") {
		char *p = new char[300000];
		std::free(p);
	} else if (which == "delete-of-malloc-large") {
		char *p = static_cast<char *>(std::malloc(300000));
		delete p;
	} else {
		std::fprintf(stderr, "unknown mismatch '%s'\n", which.c_str());
		return 2;
	}
	std::puts("went on after the mismatch");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1) return commit_mismatch(argv[1]);
	operators_come_from_hakmem();
	new_handler_is_called_until_removed_then_bad_alloc();
	bad_alloc_is_thrown_and_caught();
	nothrow_returns_null();
	aligned_new_is_aligned();
	sized_delete_with_wrong_size_is_not_reported();
	matching_pairs_are_silent();
	std::printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
