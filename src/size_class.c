#include "size_class.h"

/* Strides are 16-multiples; powers of two get +16 so malloc(2^k) still
 * fits beside the header byte. */
const uint32_t hak_class_stride[HAK_NUM_CLASSES] = {
    /* Tiny */
    16, 32, 48, 64, 80, 96, 112, 144, 176, 208, 272, 336, 400, 528, 784, 1040,
    /* Mid: class size + 16 */
    1296, 1552, 1808, 2064, 2576, 3088, 3600, 4112, 5136, 6160, 8208, 10256, 12304, 16400, 24592,
    32784,
    /* Small-Mid: the Tiny strides from 272 up, in their own pool */
    272, 528, 784, 1040};

/* Generated from the strides;
 * tests/unit/test_size_class.c checks them. */
uint8_t hak_tiny_index[66] = {
    /* idx = (n+16)>>4 = ceil((n+1)/16); smallest class with stride >= 16*idx */
    0,  0,  1,  2,  3,  4,  5,  6,  7,  7,  8,  8,  9,  9,  10, 10, 10, 10, 11, 11, 11, 11,
    12, 12, 12, 12, 13, 13, 13, 13, 13, 13, 13, 13, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14,
    14, 14, 14, 14, 14, 14, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15};

/* idx = ceil(n/256) for 1040 <= n <= 32768; smallest Mid class whose class
 * size (stride - 16) is >= 256*idx. Entries below 5 are never used. */
const uint8_t hak_mid_index[129] = {
    16, 16, 16, 16, 16, 16, 17, 18, 19, 20, 20, 21, 21, 22, 22, 23, 23, 24, 24, 24, 24, 25,
    25, 25, 25, 26, 26, 26, 26, 26, 26, 26, 26, 27, 27, 27, 27, 27, 27, 27, 27, 28, 28, 28,
    28, 28, 28, 28, 28, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 30,
    30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30,
    30, 30, 30, 30, 30, 30, 30, 30, 30, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31,
    31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31};

#define L16(base, first)                                                                           \
	[base | 0] = first + 0, [base | 1] = first + 1, [base | 2] = first + 2,                    \
	        [base | 3] = first + 3, [base | 4] = first + 4, [base | 5] = first + 5,            \
	        [base | 6] = first + 6, [base | 7] = first + 7, [base | 8] = first + 8,            \
	        [base | 9] = first + 9, [base | 10] = first + 10, [base | 11] = first + 11,        \
	        [base | 12] = first + 12, [base | 13] = first + 13, [base | 14] = first + 14,      \
	        [base | 15] = first + 15

#define N16(base)                                                                                  \
	[base | 0] = HAK_NO_CLASS, [base | 1] = HAK_NO_CLASS, [base | 2] = HAK_NO_CLASS,           \
	        [base | 3] = HAK_NO_CLASS, [base | 4] = HAK_NO_CLASS, [base | 5] = HAK_NO_CLASS,   \
	        [base | 6] = HAK_NO_CLASS, [base | 7] = HAK_NO_CLASS, [base | 8] = HAK_NO_CLASS,   \
	        [base | 9] = HAK_NO_CLASS, [base | 10] = HAK_NO_CLASS, [base | 11] = HAK_NO_CLASS, \
	        [base | 12] = HAK_NO_CLASS, [base | 13] = HAK_NO_CLASS,                            \
	        [base | 14] = HAK_NO_CLASS, [base | 15] = HAK_NO_CLASS

/* Live header byte -> class id; everything else (freed, large, aligned,
 * garbage) -> HAK_NO_CLASS and the slow path. */
const uint8_t hak_hdr_class[256] = {N16(0x00),
                                    N16(0x10),
                                    N16(0x20),
                                    N16(0x30),
                                    N16(0x40),
                                    N16(0x50),
                                    N16(0x60),
                                    N16(0x70),
                                    N16(0x80),
                                    L16(0x90, HAK_TINY_CLASSES),
                                    L16(0xa0, 0),
                                    [0xb0] = HAK_SMALLMID_FIRST,
                                    [0xb1] = HAK_SMALLMID_FIRST + 1,
                                    [0xb2] = HAK_SMALLMID_FIRST + 2,
                                    [0xb3] = HAK_SMALLMID_FIRST + 3,
                                    [0xb4 ... 0xbf] = HAK_NO_CLASS,
                                    N16(0xc0),
                                    N16(0xd0),
                                    N16(0xe0),
                                    N16(0xf0)};

unsigned hak_class_batch(unsigned c)
{
	return hak_blocks_in(HAK_REFILL_BYTES, hak_class_stride[c], HAK_REFILL_MIN_BLOCKS,
	                     HAK_REFILL_MAX_BLOCKS);
}

int hak_smallmid_enabled;

void hak_smallmid_enable(void)
{
	/* Entry i serves requests 16*i-16 .. 16*i-1: from 256 bytes on, each
	 * goes to the smallest Small-Mid class that holds 16*i-1 bytes. */
	for (unsigned i = (HAK_SMALLMID_MIN + 16) / 16; i < sizeof hak_tiny_index; i++)
		for (unsigned k = 0; k < HAK_SMALLMID_CLASSES; k++)
			if (hak_class_stride[HAK_SMALLMID_FIRST + k] >= 16 * i) {
				HAK_RELAXED_STORE(hak_tiny_index[i],
				                  (uint8_t)(HAK_SMALLMID_FIRST + k));
				break;
			}
	hak_smallmid_enabled = 1;
}
