// OpenBLAS's CBLAS interface (Debian: libopenblas-dev). Only Shared/Tensor/BLAS.swift imports this.
#include <cblas.h>
