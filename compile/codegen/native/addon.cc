// The N-API face of gradc's native kernels (plain node_api.h, no node-addon-api):
//
//   const plan = addon.plan(f32, m, k, n, sa0, sa1, sb0, sb1, split, batch, sab, sbb);  // checked once, owns its scratch
//   addon.gemm(plan, A, B, C);   // C = A @ B; A, B, C typed arrays of the plan's type, zero-copy
//                                // (split: half of C's rows, or columns, on a helper thread;
//                                // batch products, A's and B's t-th at t*sab and t*sbb, C's at t*m*n)
//   addon.info()                 // { vectorBytes, fpContract: false }
//   addon.peak(f32, steps)       // GFLOP of a mul-then-add loop in native vectors (bench/peak.ts)
//   addon.output(f32, length)    // a Float32Array/Float64Array over a pooled block (pool.h), for run's outputs
//   addon.pool()                 // { mappedBytes, idleBytes, mapped, reused }
//   addon.trim()                 // unmap the pool's idle blocks
//
// Every argument is checked here, so a wrong call is a JavaScript TypeError/RangeError, never a
// read or write outside a buffer: a plan's sizes and strides are non-negative integers, and each
// gemm call checks its arrays' types and that the largest index each operand's view reaches lies
// inside its array.

#include <node_api.h>
#include <v8.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "gemm.h"
#include "helper.h"
#include "pool.h"

namespace {

/** A part of C computed by one thread: its shape and where its operands start. */
struct Part {
  gradc::Shape s;
  int64_t aOff, bOff, cOff;
  gradc::Scratch scratch;
};

struct Plan {
  bool f32;
  int64_t batch, sab, sbb, scb;
  int parts;
  Part part[2];
  /** Elements each operand's array must hold at least. */
  int64_t needA, needB, needC;
};

struct Job {
  const Plan* plan;
  const Part* part;
  const void* A;
  const void* B;
  void* C;
};

void runJob(void* j) {
  const Job* job = (const Job*)j;
  const Part& q = *job->part;
  const Plan& p = *job->plan;
  for (int64_t t = 0; t < p.batch; t++) {
    if (p.f32) gradc::gemm<float>(q.s, (const float*)job->A + q.aOff + t * p.sab, (const float*)job->B + q.bOff + t * p.sbb, (float*)job->C + q.cOff + t * p.scb, q.scratch);
    else gradc::gemm<double>(q.s, (const double*)job->A + q.aOff + t * p.sab, (const double*)job->B + q.bOff + t * p.sbb, (double*)job->C + q.cOff + t * p.scb, q.scratch);
  }
}

#define CHECK(call)                                                    \
  do {                                                                 \
    if ((call) != napi_ok) {                                           \
      napi_throw_error(env, nullptr, "gradc native: N-API call failed"); \
      return nullptr;                                                  \
    }                                                                  \
  } while (0)

napi_value fail(napi_env env, bool range, const char* msg) {
  if (range) napi_throw_range_error(env, nullptr, msg);
  else napi_throw_type_error(env, nullptr, msg);
  return nullptr;
}

/** An integer in [0, 2^40] (sizes and strides; anything else is refused). */
bool intArg(napi_env env, napi_value v, int64_t* out) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number) return false;
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok) return false;
  if (!(d >= 0 && d <= 1099511627776.0) || d != (double)(int64_t)d) return false;
  *out = (int64_t)d;
  return true;
}

/** Elements a strided [rows, cols] view reaches: its largest index + 1 (0 when empty). */
int64_t extent(int64_t rows, int64_t cols, int64_t s0, int64_t s1) {
  if (rows == 0 || cols == 0) return 0;
  return (rows - 1) * s0 + (cols - 1) * s1 + 1;
}

void freePlan(napi_env, void* data, void*) {
  Plan* p = (Plan*)data;
  for (int i = 0; i < 2; i++) {
    free(p->part[i].scratch.a);
    free(p->part[i].scratch.b);
    free(p->part[i].scratch.c);
  }
  delete p;
}

void* alignedBytes(int64_t bytes) {
  size_t size = (size_t)((bytes + 63) / 64 * 64);
  return aligned_alloc(64, size > 0 ? size : 64);
}

napi_value MakePlan(napi_env env, napi_callback_info info) {
  size_t argc = 12;
  napi_value argv[12];
  CHECK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  if (argc != 12) return fail(env, false, "gradc native: plan(f32, m, k, n, sa0, sa1, sb0, sb1, split, batch, sab, sbb) takes 12 arguments");
  bool f32, split;
  if (napi_get_value_bool(env, argv[0], &f32) != napi_ok) return fail(env, false, "gradc native: plan: f32 must be a boolean");
  if (napi_get_value_bool(env, argv[8], &split) != napi_ok) return fail(env, false, "gradc native: plan: split must be a boolean");
  int64_t v[7], bt[3];
  for (int i = 0; i < 7; i++)
    if (!intArg(env, argv[i + 1], &v[i])) return fail(env, true, "gradc native: plan: sizes and strides must be integers in [0, 2^40]");
  for (int i = 0; i < 3; i++)
    if (!intArg(env, argv[i + 9], &bt[i])) return fail(env, true, "gradc native: plan: the batch and its strides must be integers in [0, 2^40]");
  const int64_t m = v[0], k = v[1], n = v[2], batch = bt[0];
  const int64_t lim = (int64_t)1 << 40;
  if (m * k > lim || k * n > lim || m * n > lim || (batch > 1 && (m * n > lim / batch || bt[1] > lim / batch || bt[2] > lim / batch)))
    return fail(env, true, "gradc native: plan: operands too large");
  Plan* p = new Plan();
  p->f32 = f32;
  p->batch = batch;
  p->sab = bt[1];
  p->sbb = bt[2];
  p->scb = m * n;
  // the last product's view of each operand lies inside its array (the earlier ones start lower)
  const int64_t ea = extent(m, k, v[3], v[4]), eb = extent(k, n, v[5], v[6]);
  p->needA = batch == 0 || ea == 0 ? 0 : (batch - 1) * bt[1] + ea;
  p->needB = batch == 0 || eb == 0 ? 0 : (batch - 1) * bt[2] + eb;
  p->needC = batch * m * n;
  const gradc::Shape whole = {m, k, n, v[3], v[4], v[5], v[6], n};
  p->parts = 1;
  p->part[0] = {whole, 0, 0, 0, {}};
  p->part[1] = {whole, 0, 0, 0, {}};
  // two threads: halves of C's rows (each a whole product of its own), else of its columns (at a
  // multiple of 16, whole vectors in both halves); either way every C[i,j] is computed as in one thread
  const int64_t m0 = (m + 1) / 2, n0 = ((n + 1) / 2 + 15) / 16 * 16;
  if (split && m >= 8) {
    p->parts = 2;
    p->part[0].s.m = m0;
    p->part[1].s.m = m - m0;
    p->part[1].aOff = m0 * v[3];
    p->part[1].cOff = m0 * n;
  } else if (split && n0 < n) {
    p->parts = 2;
    p->part[0].s.n = n0;
    p->part[1].s.n = n - n0;
    p->part[1].bOff = n0 * v[6];
    p->part[1].cOff = n0;
  }
  for (int i = 0; i < p->parts; i++) {
    int64_t bytes[3];
    if (f32) gradc::scratchBytes<float>(p->part[i].s, bytes);
    else gradc::scratchBytes<double>(p->part[i].s, bytes);
    p->part[i].scratch = {alignedBytes(bytes[0]), alignedBytes(bytes[1]), alignedBytes(bytes[2])};
    if (!p->part[i].scratch.a || !p->part[i].scratch.b || !p->part[i].scratch.c) {
      freePlan(env, p, nullptr);
      return fail(env, true, "gradc native: plan: out of memory for scratch");
    }
  }
  napi_value out;
  if (napi_create_external(env, p, freePlan, nullptr, &out) != napi_ok) {
    freePlan(env, p, nullptr);
    napi_throw_error(env, nullptr, "gradc native: plan: N-API call failed");
    return nullptr;
  }
  return out;
}

/** The data pointer and length of a typed array of the wanted type, or null (an exception is pending). */
void* arrayArg(napi_env env, napi_value v, bool f32, int64_t need, const char* name) {
  bool is;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) {
    fail(env, false, name);
    return nullptr;
  }
  napi_typedarray_type type;
  size_t length;
  void* data;
  if (napi_get_typedarray_info(env, v, &type, &length, &data, nullptr, nullptr) != napi_ok) {
    fail(env, false, name);
    return nullptr;
  }
  if (type != (f32 ? napi_float32_array : napi_float64_array)) {
    fail(env, false, name);
    return nullptr;
  }
  if ((int64_t)length < need) {
    fail(env, true, name);
    return nullptr;
  }
  if (!data && need > 0) {
    fail(env, false, "gradc native: gemm: an operand's buffer is detached");
    return nullptr;
  }
  // a detached (or empty) array has no data: only acceptable when nothing is read or written
  static double none;
  return data ? data : (need == 0 ? (void*)&none : nullptr);
}

napi_value Gemm(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  if (argc != 4) return fail(env, false, "gradc native: gemm(plan, A, B, C) takes 4 arguments");
  napi_valuetype t;
  void* raw;
  if (napi_typeof(env, argv[0], &t) != napi_ok || t != napi_external || napi_get_value_external(env, argv[0], &raw) != napi_ok)
    return fail(env, false, "gradc native: gemm: the first argument must be a plan");
  const Plan* p = (const Plan*)raw;
  const char* aMsg = p->f32 ? "gradc native: gemm: A must be a Float32Array holding the plan's view of A" : "gradc native: gemm: A must be a Float64Array holding the plan's view of A";
  const char* bMsg = p->f32 ? "gradc native: gemm: B must be a Float32Array holding the plan's view of B" : "gradc native: gemm: B must be a Float64Array holding the plan's view of B";
  const char* cMsg = p->f32 ? "gradc native: gemm: C must be a Float32Array of at least m*n values" : "gradc native: gemm: C must be a Float64Array of at least m*n values";
  void* A = arrayArg(env, argv[1], p->f32, p->needA, aMsg);
  if (!A) return nullptr;
  void* B = arrayArg(env, argv[2], p->f32, p->needB, bMsg);
  if (!B) return nullptr;
  void* C = arrayArg(env, argv[3], p->f32, p->needC, cMsg);
  if (!C) return nullptr;
  Job jobs[2] = {{p, &p->part[0], A, B, C}, {p, &p->part[1], A, B, C}};
  if (p->parts == 2) gradc::Helper::both(runJob, &jobs[1], runJob, &jobs[0]);
  else runJob(&jobs[0]);
  return nullptr;
}

napi_value Info(napi_env env, napi_callback_info) {
  napi_value out, bytes, contract;
  CHECK(napi_create_object(env, &out));
  CHECK(napi_create_int32(env, GRADC_VBYTES, &bytes));
  CHECK(napi_get_boolean(env, false, &contract));
  CHECK(napi_set_named_property(env, out, "vectorBytes", bytes));
  CHECK(napi_set_named_property(env, out, "fpContract", contract));
  return out;
}

/** `steps` iterations of 24 independent acc = acc * m + a chains in native vectors; returns GFLOP/s. */
template <typename T>
double peakOf(int64_t steps) {
  typedef typename gradc::Vec<T>::type V;
  constexpr int W = GRADC_VBYTES / sizeof(T);
  constexpr int CH = 24;
  V acc[CH];
  V mul = V{} + (T)0.999999, add = V{} + (T)1e-7;
  for (int c = 0; c < CH; c++) acc[c] = V{} + (T)(c + 1);
  timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int64_t i = 0; i < steps; i++) {
#pragma GCC unroll 24
    for (int c = 0; c < CH; c++) {
      V prod = acc[c] * mul;
      acc[c] = prod + add;
    }
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  V sum = V{};
  for (int c = 0; c < CH; c++) sum += acc[c];
  volatile T sink = sum[0];
  (void)sink;
  double s = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9;
  return (double)steps * CH * W * 2 / s / 1e9;
}

napi_value Peak(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  bool f32;
  int64_t steps;
  if (argc != 2 || napi_get_value_bool(env, argv[0], &f32) != napi_ok || !intArg(env, argv[1], &steps))
    return fail(env, false, "gradc native: peak(f32, steps)");
  napi_value out;
  CHECK(napi_create_double(env, f32 ? peakOf<float>(steps) : peakOf<double>(steps), &out));
  return out;
}

/** The process's pool, leaked on purpose: V8 may free arrays over its blocks during teardown. */
gradc::Pool* pool() {
  static gradc::Pool* p = new gradc::Pool();
  return p;
}

void giveBack(void* data, size_t bytes, void*) { pool()->give(data, bytes); }

/**
 * A typed array over a pooled block, through V8's API: N-API has no backing store with a deleter
 * that runs when V8 frees it (pool.h says why that matters). A napi_value is a V8 local handle
 * (Node's js_native_api_v8.h converts them by a cast), here one in the callback's handle scope.
 */
napi_value Output(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  bool f32;
  int64_t length;
  if (argc != 2 || napi_get_value_bool(env, argv[0], &f32) != napi_ok || !intArg(env, argv[1], &length) || length == 0 || length > ((int64_t)1 << 32))
    return fail(env, true, "gradc native: output(f32, length) takes a boolean and a length in [1, 2^32]");
  const size_t bytes = (size_t)length * (f32 ? 4 : 8);
  void* block = pool()->take(bytes);
  if (!block) return fail(env, true, "gradc native: output: out of memory");
  v8::Isolate* isolate = v8::Isolate::GetCurrent();
  std::unique_ptr<v8::BackingStore> store = v8::ArrayBuffer::NewBackingStore(block, bytes, giveBack, nullptr);
  v8::Local<v8::ArrayBuffer> buffer = v8::ArrayBuffer::New(isolate, std::move(store));
  v8::Local<v8::Value> array;
  if (f32) array = v8::Float32Array::New(buffer, 0, (size_t)length);
  else array = v8::Float64Array::New(buffer, 0, (size_t)length);
  return reinterpret_cast<napi_value>(*array);
}

napi_value PoolStats(napi_env env, napi_callback_info) {
  const gradc::Pool::Stats s = pool()->stats();
  napi_value out, v;
  CHECK(napi_create_object(env, &out));
  const std::pair<const char*, double> fields[] = {{"mappedBytes", s.mappedBytes}, {"idleBytes", s.idleBytes}, {"mapped", s.mapped}, {"reused", s.reused}};
  for (const auto& [name, value] : fields) {
    CHECK(napi_create_double(env, value, &v));
    CHECK(napi_set_named_property(env, out, name, v));
  }
  return out;
}

napi_value PoolTrim(napi_env, napi_callback_info) {
  pool()->trim();
  return nullptr;
}

napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"plan", nullptr, MakePlan, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"gemm", nullptr, Gemm, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"info", nullptr, Info, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"peak", nullptr, Peak, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"output", nullptr, Output, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"pool", nullptr, PoolStats, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"trim", nullptr, PoolTrim, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
  };
  if (napi_define_properties(env, exports, 7, props) != napi_ok) return nullptr;
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
