/* blas.h - the thread count of short work (blas.c). Internal. */
#ifndef GENBO_DIFFUSION_BLAS_H
#define GENBO_DIFFUSION_BLAS_H

/* One BLAS thread for short work unless the user chose a count (blas.c):
 * begin returns the count to restore (0 = nothing changed). */
int genbo__threads_short_begin(void);
void genbo__threads_short_end(int saved);

#endif
