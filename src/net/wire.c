/*
 * wire.c - names of the packet-format refusal reasons (see wire.h).
 */
#include "net/wire.h"

#define WIRE_REASON_NAME(name, str)	[WIRE_##name] = str,
static const char *const wire_reason_names[WIRE_REASON_COUNT] = {
	WIRE_REASONS(WIRE_REASON_NAME)
};
#undef WIRE_REASON_NAME

const char *
wire_reason_name(enum wire_reason r)
{
	if ((unsigned)r >= WIRE_REASON_COUNT)
		return "?";
	return wire_reason_names[r];
}
