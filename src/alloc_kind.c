#include "alloc_kind.h"
#include "heap_report.h"
#include "large.h"

#include <stdio.h>

static const char *const allocated_with[] = {
    [HAK_ALLOC_MALLOC] = "malloc()", [HAK_ALLOC_NEW] = "new", [HAK_ALLOC_NEW_ARRAY] = "new[]"};
static const char *const released_with[] = {
    [HAK_ALLOC_MALLOC] = "free()", [HAK_ALLOC_NEW] = "delete", [HAK_ALLOC_NEW_ARRAY] = "delete[]"};

/* A live slab block keeps its kind in its record's free_stack, a large
 * block in its header's reserved[1] (large_check.c). */
void hak_track_set_kind(void *p, unsigned kind)
{
	struct hak_ptr_info in;
	hak_track_inspect(p, &in);
	if (in.error) return;
	if (in.large)
		hak_large_hdr(p)->reserved[1] = kind;
	else if (in.rec && in.rec->state == TRACK_LIVE)
		in.rec->free_stack = kind;
}

void hak_track_check_kind(void *p, struct hak_ptr_info *in, unsigned how, void *ret)
{
	struct hak_track_rec large_rec;
	struct hak_track_rec *rec = in->rec;
	if (in->large) {
		struct hak_large_hdr *h = hak_large_hdr(p);
		large_rec = (struct hak_track_rec){
		    .requested = h->requested > UINT32_MAX ? UINT32_MAX : (uint32_t)h->requested,
		    .alloc_stack = (uint32_t)h->reserved[0],
		    .free_stack = (uint32_t)h->reserved[1],
		    .state = TRACK_LIVE};
		rec = &large_rec;
	}
	if (!rec || rec->state != TRACK_LIVE || rec->free_stack == how ||
	    rec->free_stack > HAK_ALLOC_NEW_ARRAY || how > HAK_ALLOC_NEW_ARRAY)
		return;
	char detail[96];
	snprintf(detail, sizeof detail, "allocated with %s, released with %s",
	         allocated_with[rec->free_stack], released_with[how]);
	struct hak_ptr_info shown = *in;
	shown.rec = rec;
	shown.error = HAK_ERR_MISMATCHED_FREE;
	hak_report_error(HAK_ERR_MISMATCHED_FREE, p, &shown, detail, ret);
}
