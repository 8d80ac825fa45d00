/*
 * The daemon's health as the main thread reports it to systemd: a one-line
 * STATUS= summary, and WATCHDOG=1 only while every loop keeps answering
 * posts (a health check, not a timer).  Main thread only.
 */
#ifndef LOOM_HEALTH_H
#define LOOM_HEALTH_H

#include <stdbool.h>
#include <stddef.h>

void	health_init(void);		/* once the loops run */
void	health_free(void);
/* Call often (a timer, the shutdown's waits): does what is due. */
void	health_tick(void);
/* Seconds until the next health_tick() has work; for the timer. */
double	health_interval(void);
/*
 * One watchdog check (health_tick() makes them when due): WATCHDOG=1 if
 * every loop answered the last round's probe, then the next round.  True
 * if it was sent (or would have been, outside systemd).
 */
bool	health_watchdog(void);
/* The loops are about to stop: no more probes, no more WATCHDOG=1. */
void	health_loops_stopping(void);
/* "draining" and the like, put before the counts; NULL: none. */
void	health_set_phase(const char *);
void	health_summary(char *buf, size_t len);

#endif
