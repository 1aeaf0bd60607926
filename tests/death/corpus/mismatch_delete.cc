// Corpus: memory from new[] released with free(), and malloc'd memory
// released with delete.
#include <cstdlib>
#include <cstring>

int main()
{
	char *a = new char[32]; // MARK:alloc
	std::memset(a, 0, 32);
	std::free(a); // MARK:free
	char *b = static_cast<char *>(std::malloc(16));
	delete b;
	return 0;
}
