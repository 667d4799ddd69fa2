/*
** rbm_head.c -- a softmax layer (multinomial logistic regression) on top
** of a feature model: the classifier of scikit-learn's RBM + logistic
** regression pipeline, in one call.
**
** It minimises the mean cross-entropy over the n rows plus l2 / 2 times
** the squared weights (not the biases) by L-BFGS (Nocedal & Wright,
** algorithm 7.4, with a backtracking line search on the Armijo
** condition).  The loss is convex, so the result does not depend on a
** seed.  Each evaluation is two GEMMs through BLAS: logits = X W' + b,
** and the gradient (P - Y)' X.
*/
#include "rbm_internal.h"
#include "rbm_math.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define HISTORY 10

typedef struct head_problem {
  const float *X;
  size_t n;
  uint32_t d, C;
  const uint32_t *y;
  double l2;
  float *logits;  /* n x C */
  float *Wf, *G;  /* the parameters and gradient as floats (C x (d + 1)) */
} head_problem;

/* Loss and gradient at theta (C rows of d weights, then C biases), in
** double outside the GEMMs. */
static double evaluate(head_problem *p, const double *theta, double *grad) {
  size_t n = p->n, d = p->d, C = p->C, nw = C * d;
  for (size_t j = 0; j < nw + C; j++) p->Wf[j] = (float)theta[j];
  const float *W = p->Wf, *b = p->Wf + nw;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)C, (int)d,
              1.f, p->X, (int)d, W, (int)d, 0.f, p->logits, (int)C);
  double loss = 0;
  for (size_t r = 0; r < n; r++) {
    float *z = p->logits + r * C;
    double mx = -INFINITY, sum = 0;
    for (size_t k = 0; k < C; k++) {
      z[k] += b[k];
      mx = z[k] > mx ? z[k] : mx;
    }
    for (size_t k = 0; k < C; k++) sum += exp(z[k] - mx);
    double log_sum = mx + log(sum);
    loss += log_sum - z[p->y[r]];
    /* z becomes the gradient of the row's loss by its logits: P - Y */
    for (size_t k = 0; k < C; k++) z[k] = (float)exp(z[k] - log_sum);
    z[p->y[r]] -= 1.f;
  }
  float *G = p->G;
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)C, (int)d, (int)n,
              1.f / (float)n, p->logits, (int)C, p->X, (int)d, 0.f, G, (int)d);
  double reg = 0;
  for (size_t j = 0; j < nw; j++) {
    grad[j] = G[j] + p->l2 * theta[j];
    reg += theta[j] * theta[j];
  }
  for (size_t k = 0; k < C; k++) {
    double s = 0;
    for (size_t r = 0; r < n; r++) s += p->logits[r * C + k];
    grad[nw + k] = s / (double)n;
  }
  return loss / (double)n + 0.5 * p->l2 * reg;
}

static double dot(const double *a, const double *b, size_t n) {
  double s = 0;
  for (size_t j = 0; j < n; j++) s += a[j] * b[j];
  return s;
}

int rbm_head_train(const float *X, size_t n, uint32_t d, const uint32_t *y,
                   uint32_t C, double l2, int max_iterations, float *W,
                   float *b, int *iterations, double *loss) {
  size_t m = (size_t)C * d + C;
  head_problem p = {X, n, d, C, y, l2, NULL, NULL, NULL};
  p.logits = malloc(n * C * sizeof *p.logits);
  p.Wf = malloc(m * sizeof *p.Wf);
  p.G = malloc((size_t)C * d * sizeof *p.G);
  double *theta = calloc(m, sizeof *theta), *grad = malloc(m * sizeof *grad);
  double *next = malloc(m * sizeof *next), *grad_next = malloc(m * sizeof *grad_next);
  double *dir = malloc(m * sizeof *dir);
  double *s = malloc(HISTORY * m * sizeof *s), *yv = malloc(HISTORY * m * sizeof *yv);
  double rho[HISTORY], alpha[HISTORY];
  int rc = RBM_NOMEM;
  if (!p.logits || !p.Wf || !p.G || !theta || !grad || !next || !grad_next ||
      !dir || !s || !yv)
    goto done;
  double f = evaluate(&p, theta, grad);
  int it = 0, kept = 0, newest = -1;
  for (; it < max_iterations; it++) {
    double gnorm = sqrt(dot(grad, grad, m));
    if (gnorm < 1e-6) break;
    /* Two-loop recursion: dir = -H grad. */
    for (size_t j = 0; j < m; j++) dir[j] = -grad[j];
    for (int h = 0; h < kept; h++) {
      int k = (newest - h + HISTORY) % HISTORY;
      alpha[k] = rho[k] * dot(s + k * m, dir, m);
      for (size_t j = 0; j < m; j++) dir[j] -= alpha[k] * yv[k * m + j];
    }
    if (kept) {
      double gamma = dot(s + newest * m, yv + newest * m, m) /
                     dot(yv + newest * m, yv + newest * m, m);
      for (size_t j = 0; j < m; j++) dir[j] *= gamma;
    } else {
      for (size_t j = 0; j < m; j++) dir[j] /= gnorm;  /* a first step of length 1 */
    }
    for (int h = kept - 1; h >= 0; h--) {
      int k = (newest - h + HISTORY) % HISTORY;
      double beta = rho[k] * dot(yv + k * m, dir, m);
      for (size_t j = 0; j < m; j++) dir[j] += (alpha[k] - beta) * s[k * m + j];
    }
    double slope = dot(grad, dir, m);
    if (slope >= 0) {  /* not a descent direction: start the memory over */
      for (size_t j = 0; j < m; j++) dir[j] = -grad[j] / gnorm;
      slope = -gnorm;
      kept = 0;
    }
    double step = 1, f_next = f;
    int found = 0;
    for (int tries = 0; tries < 30; tries++, step *= 0.5) {
      for (size_t j = 0; j < m; j++) next[j] = theta[j] + step * dir[j];
      f_next = evaluate(&p, next, grad_next);
      if (f_next <= f + 1e-4 * step * slope) {
        found = 1;
        break;
      }
    }
    if (!found) break;  /* no decrease left at float precision */
    /* The pair (s, y) of this step is kept only if its curvature is
    ** positive; otherwise the history stays as it was. */
    double sy = 0;
    for (size_t j = 0; j < m; j++) sy += (next[j] - theta[j]) * (grad_next[j] - grad[j]);
    if (sy > 1e-12) {
      newest = (newest + 1) % HISTORY;
      for (size_t j = 0; j < m; j++) {
        s[newest * m + j] = next[j] - theta[j];
        yv[newest * m + j] = grad_next[j] - grad[j];
      }
      rho[newest] = 1 / sy;
      if (kept < HISTORY) kept++;
    }
    double change = f - f_next;
    memcpy(theta, next, m * sizeof *theta);
    memcpy(grad, grad_next, m * sizeof *grad);
    f = f_next;
    if (change < 1e-9 * (fabs(f) + 1e-9)) {
      it++;
      break;
    }
  }
  for (size_t j = 0; j < (size_t)C * d; j++) W[j] = (float)theta[j];
  for (size_t k = 0; k < C; k++) b[k] = (float)theta[(size_t)C * d + k];
  *iterations = it;
  *loss = f;
  rc = RBM_OK;
done:
  free(p.logits), free(p.Wf), free(p.G), free(theta), free(grad), free(next);
  free(grad_next), free(dir), free(s), free(yv);
  return rc;
}

void rbm_head_probs(const float *W, const float *b, uint32_t C, uint32_t d,
                    const float *x, float *p) {
  float mx = -INFINITY, sum = 0;
  for (uint32_t k = 0; k < C; k++) {
    p[k] = b[k] + rbm_dot(W + (size_t)k * d, x, (int)d);
    mx = p[k] > mx ? p[k] : mx;
  }
  for (uint32_t k = 0; k < C; k++) sum += p[k] = expf(p[k] - mx);
  for (uint32_t k = 0; k < C; k++) p[k] /= sum;
}
