/* Stands in for libdw.so.1 without any of its functions (check.sh). */
int hakmem_fake_libdw;
