"""Batched ODE kernels, appended to every generated model module (see codegen.py).

This file is not imported on its own: the names ``rhs_lanes``, ``rhs_one``, ``jac_one``,
``dfdt_one``, ``init_one``, ``NS``, ``NP``, ``W`` and ``ST_*`` come from the generated model
code above it.

Explicit path: Dormand-Prince 5(4) with FSAL, an I step-size controller and Hairer's
stiffness detection (Hairer, Norsett & Wanner, Solving ODEs I, 2nd ed., Table II.5.2 and
sections II.4 and II.10; the ``DOPRI5`` code). The stages and the accept/reject are generated
per model (codegen.py: ``dp5_stages``, ``dp5_accept``) as vectorised loops over lanes.
Patients run in SIMD lanes (one flat buffer ``B[row * W + lane]``), each lane with its own
time, step size and accept/reject; a lane whose patient finishes is refilled with the next
patient of its group, so lanes stay busy.

Implicit path: RODAS4 (Hairer & Wanner, Solving ODEs II, section IV.7, coefficients of the
``RODAS`` code), a stiffly accurate, L-stable Rosenbrock method of order 4(3) using the
analytic Jacobian generated from the model; one patient at a time per thread.

Doses are jumps at known times: every step is clipped so that it ends exactly at the next
event or output time; no root-finding. Event kinds: 0 adds ``value`` to a state (bolus),
1 adds ``value`` to the state's input rate (infusion start/stop), 2 multiplies a state by
``value`` (fractional kill), 3 sets the state to ``value`` (NaN: skipped). Outputs at an
event time are taken after the event.

Status codes ``ST_*`` are generated from :class:`oncotwin.solvers.status.SolverStatus` above
this text: success, maximum number of steps, step size underflow, non-finite state, stiffness
detected (the driver re-solves with RODAS4), not run.
"""

# Dormand & Prince (1980) 5(4) tableau.
C2 = 0.2
C3 = 0.3
C4 = 0.8
C5 = 8.0 / 9.0
A21 = 0.2
A31 = 3.0 / 40.0
A32 = 9.0 / 40.0
A41 = 44.0 / 45.0
A42 = -56.0 / 15.0
A43 = 32.0 / 9.0
A51 = 19372.0 / 6561.0
A52 = -25360.0 / 2187.0
A53 = 64448.0 / 6561.0
A54 = -212.0 / 729.0
A61 = 9017.0 / 3168.0
A62 = -355.0 / 33.0
A63 = 46732.0 / 5247.0
A64 = 49.0 / 176.0
A65 = -5103.0 / 18656.0
A71 = 35.0 / 384.0
A73 = 500.0 / 1113.0
A74 = 125.0 / 192.0
A75 = -2187.0 / 6784.0
A76 = 11.0 / 84.0
E1 = 71.0 / 57600.0
E3 = -71.0 / 16695.0
E4 = 71.0 / 1920.0
E5 = -17253.0 / 339200.0
E6 = 22.0 / 525.0
E7 = -1.0 / 40.0

# RODAS4 (Hairer & Wanner 1996), transformed form of the RODAS code.
RG = 0.25
RA21 = 1.544
RA31 = 0.9466785280815826
RA32 = 0.2557011698983284
RA41 = 3.314825187068521
RA42 = 2.896124015972201
RA43 = 0.9986419139977817
RA51 = 1.221224509226641
RA52 = 6.019134481288629
RA53 = 12.53708332932087
RA54 = -0.687886036105895
RC21 = -5.6688
RC31 = -2.430093356833875
RC32 = -0.2063599157091915
RC41 = -0.1073529058151375
RC42 = -9.594562251023355
RC43 = -20.47028614809616
RC51 = 7.496443313967647
RC52 = -10.24680431464352
RC53 = -33.99990352819905
RC54 = 11.7089089320616
RC61 = 8.083246795921522
RC62 = -7.981132988064893
RC63 = -31.52159432874371
RC64 = 16.31930543123136
RC65 = -6.058818238834054
RCC2 = 0.386
RCC3 = 0.21
RCC4 = 0.63
RD1 = 0.25
RD2 = -0.1043
RD3 = 0.1035
RD4 = -0.0362


@njit(cache=True, nogil=True, error_model="numpy")
def init_all(params, out):
    y = np.empty(NS)
    for i in range(params.shape[0]):
        init_one(params[i], y)
        for s in range(NS):
            out[i, s] = y[s]


@njit(cache=True, nogil=True, error_model="numpy")
def _norm_scaled(v, y, atol, rtol):
    acc = 0.0
    for s in range(NS):
        sk = atol[s] + rtol * abs(y[s])
        acc += (v[s] / sk) ** 2
    return math.sqrt(acc / NS)


@njit(cache=True, nogil=True, error_model="numpy")
def _hinit(t, y, f0, p, u, atol, rtol, hmax, work, f1):
    """Initial step (Hairer, Norsett & Wanner I, section II.4, algorithm of DOPRI5's HINIT)."""
    d0 = _norm_scaled(y, y, atol, rtol)
    d1 = _norm_scaled(f0, y, atol, rtol)
    if d0 < 1e-5 or d1 < 1e-5:
        h0 = 1e-6
    else:
        h0 = 0.01 * d0 / d1
    h0 = min(h0, hmax)
    for s in range(NS):
        work[s] = y[s] + h0 * f0[s]
    rhs_one(t + h0, work, p, u, f1)
    for s in range(NS):
        work[s] = f1[s] - f0[s]
    d2 = _norm_scaled(work, y, atol, rtol) / h0
    dm = max(d1, d2)
    if dm <= 1e-15:
        h1 = max(1e-6, h0 * 1e-3)
    else:
        h1 = (0.01 / dm) ** 0.2
    return min(100.0 * h0, h1, hmax)


@njit(cache=True, nogil=True, error_model="numpy")
def _apply_events(t, y, u, ie, ev_t, ev_state, ev_kind, ev_val, pat):
    """Apply every event with time <= t from index ie; return the new index and a flag."""
    n_ev = ev_t.shape[0]
    jumped = False
    while ie < n_ev and ev_t[ie] <= t:
        s = ev_state[ie]
        v = ev_val[pat, ie]
        k = ev_kind[ie]
        if k == 0:
            if v != 0.0:
                y[s] += v
                jumped = True
        elif k == 1:
            if v != 0.0:
                u[s] += v
                jumped = True
        elif k == 2:
            if v != 1.0:
                y[s] *= v
                jumped = True
        elif v == v:  # k == 3: set the state (NaN: a masked, skipped event)
            y[s] = v
            jumped = True
        ie += 1
    return ie, jumped


@njit(cache=True, nogil=True, error_model="numpy")
def _save_outputs(t, y, io, t_out, save_idx, out, pat):
    n_out = t_out.shape[0]
    while io < n_out and t_out[io] <= t:
        for j in range(save_idx.shape[0]):
            out[pat, io, j] = y[save_idx[j]]
        io += 1
    return io


@njit(cache=True, nogil=True, error_model="numpy")
def _next_stop(io, ie, t_out, ev_t, ev_kind, ev_val, pat):
    """The next output time or event of this patient. An event that is a no-op for the patient
    (a zero dose, a masked one) does not clip its steps, so a patient's steps never depend on
    the other patients' events (results identical however patients are grouped)."""
    n_ev = ev_t.shape[0]
    while ie < n_ev:
        v = ev_val[pat, ie]
        k = ev_kind[ie]
        if k == 0 or k == 1:
            noop = v == 0.0
        elif k == 2:
            noop = v == 1.0
        else:
            noop = v != v
        if not noop:
            break
        ie += 1
    ts = t_out[io]
    if ie < n_ev and ev_t[ie] < ts:
        ts = ev_t[ie]
    return ts


@njit(cache=True, nogil=True, error_model="numpy")
def _finish_lane(B, l, pat, io, t_out, save_idx, out, status, nsteps):
    nsteps[pat] = np.int64(B[R_NST * W + l])
    if status[pat] != ST_OK:
        # unfinished outputs are NaN, so no value is silently wrong
        for k in range(io, t_out.shape[0]):
            for j in range(save_idx.shape[0]):
                out[pat, k, j] = np.nan
    # park the idle lane: zero step, no attention
    B[R_H * W + l] = 0.0
    B[R_T * W + l] = 0.0
    B[R_TSTOP * W + l] = 0.0


@njit(cache=True, nogil=True, error_model="numpy")
def dp5_range(
    lo,
    hi,
    params,
    t0,
    t_out,
    ev_t,
    ev_state,
    ev_kind,
    ev_val,
    save_idx,
    atol,
    rtol,
    max_steps,
    nonneg,
    detect_stiff,
    stiff_steps,
    out,
    status,
    nsteps,
    nl,
):
    """Patients ``lo..hi-1`` through ``W`` SIMD lanes of one flat buffer ``B`` (one task of
    the driver's thread pool; releases the GIL).

    The common path of a step (stages, error, accept/reject, step size, time, counters) runs
    in generated vectorised loops over lanes; this scalar loop only serves lanes whose
    ``ATTN`` flag is up (events and outputs, failures, stiffness) and refills idle lanes.
    ``nl`` is the lane count as a run-time value (always ``W``): a compile-time trip count
    would make LLVM unroll the lane loops instead of vectorising them.
    """
    nl = min(nl, W)
    n_out = t_out.shape[0]
    hmax = t_out[n_out - 1] - t0
    B = np.zeros(R_ROWS * W)
    PAT = np.full(W, -1, dtype=np.int64)
    IO = np.zeros(W, dtype=np.int64)
    IE = np.zeros(W, dtype=np.int64)
    ACTIVE = np.zeros(W, dtype=np.bool_)
    for l in range(W):
        B[R_RTOL * W + l] = rtol
        B[R_HMAX * W + l] = hmax
        B[R_MAXST * W + l] = max_steps
        for s in range(NS):
            B[(R_ATOL + s) * W + l] = atol[s]
    y = np.empty(NS)
    u = np.empty(NS)
    f = np.empty(NS)
    w1 = np.empty(NS)
    w2 = np.empty(NS)
    p = np.empty(NP)
    nxt = lo
    n_active = 0
    while True:
        # ---- (re)fill idle lanes with the next patients of the group
        for l in range(W):
            while not ACTIVE[l] and nxt < hi:
                pat = nxt
                nxt += 1
                for k in range(NP):
                    p[k] = params[pat, k]
                init_one(p, y)
                for s in range(NS):
                    u[s] = 0.0
                ie, _ = _apply_events(t0, y, u, 0, ev_t, ev_state, ev_kind, ev_val, pat)
                io = _save_outputs(t0, y, 0, t_out, save_idx, out, pat)
                nsteps[pat] = 0
                if io >= n_out:
                    status[pat] = ST_OK
                    continue
                rhs_one(t0, y, p, u, f)
                finite = True
                for s in range(NS):
                    if not math.isfinite(f[s]) or not math.isfinite(y[s]):
                        finite = False
                if not finite:
                    status[pat] = ST_NONFINITE
                    for k in range(io, n_out):
                        for j in range(save_idx.shape[0]):
                            out[pat, k, j] = np.nan
                    continue
                for k in range(NP):
                    B[(R_P + k) * W + l] = p[k]
                for s in range(NS):
                    B[(R_Y + s) * W + l] = y[s]
                    B[(R_U + s) * W + l] = u[s]
                    B[(R_K1 + s) * W + l] = f[s]
                B[R_T * W + l] = t0
                B[R_H * W + l] = _hinit(t0, y, f, p, u, atol, rtol, hmax, w1, w2)
                B[R_TSTOP * W + l] = _next_stop(io, ie, t_out, ev_t, ev_kind, ev_val, pat)
                B[R_NST * W + l] = 0.0
                B[R_STI * W + l] = 0.0
                B[R_NONSTI * W + l] = 0.0
                PAT[l] = pat
                IO[l] = io
                IE[l] = ie
                ACTIVE[l] = True
                n_active += 1
        if n_active == 0:
            break
        # ---- one step of every lane (generated, vectorised)
        dp5_prologue(B, nl)
        dp5_stages(B, nl)
        dp5_accept(B, nl)
        # ---- lanes that need the scalar driver
        for l in range(W):
            if not ACTIVE[l] or B[R_ATTN * W + l] == 0.0:
                continue
            pat = PAT[l]
            err = B[R_ERR * W + l]
            acc = B[R_ACC * W + l] > 0.5
            tl = B[R_T * W + l]
            finished = False
            if not (err < 1e300):
                if B[R_H * W + l] < 1e-14 * max(1.0, abs(tl)):
                    status[pat] = ST_NONFINITE
                    finished = True
            elif not acc and B[R_H * W + l] < 1e-14 * max(1.0, abs(tl)):
                status[pat] = ST_HMIN
                finished = True
            if acc and not finished and B[R_STI * W + l] >= 15.0:
                # stiff for 15 accepted steps: switch to RODAS4 only when the explicit path
                # would need more than stiff_steps steps in all
                if detect_stiff and (
                    B[R_NST * W + l] + (t_out[n_out - 1] - tl) / B[R_HH * W + l] > stiff_steps
                ):
                    status[pat] = ST_STIFF
                    finished = True
                else:
                    B[R_STI * W + l] = 0.0
            if acc and not finished and B[R_HIT * W + l] > 0.5:
                for s in range(NS):
                    y[s] = B[(R_Y + s) * W + l]
                    u[s] = B[(R_U + s) * W + l]
                ie, jumped = _apply_events(tl, y, u, IE[l], ev_t, ev_state, ev_kind, ev_val, pat)
                IE[l] = ie
                IO[l] = _save_outputs(tl, y, IO[l], t_out, save_idx, out, pat)
                if IO[l] >= n_out:
                    status[pat] = ST_OK
                    finished = True
                else:
                    B[R_TSTOP * W + l] = _next_stop(IO[l], ie, t_out, ev_t, ev_kind, ev_val, pat)
                    if jumped:
                        for k in range(NP):
                            p[k] = B[(R_P + k) * W + l]
                        rhs_one(tl, y, p, u, f)
                        for s in range(NS):
                            B[(R_Y + s) * W + l] = y[s]
                            B[(R_U + s) * W + l] = u[s]
                            B[(R_K1 + s) * W + l] = f[s]
                        B[R_H * W + l] = min(
                            B[R_H * W + l], _hinit(tl, y, f, p, u, atol, rtol, hmax, w1, w2)
                        )
            if not finished and B[R_NST * W + l] >= max_steps:
                status[pat] = ST_MAXSTEPS
                finished = True
            if finished:
                _finish_lane(B, l, pat, IO[l], t_out, save_idx, out, status, nsteps)
                ACTIVE[l] = False
                n_active -= 1


@njit(cache=True, nogil=True, error_model="numpy")
def _lu_factor(A, piv):
    """In-place LU with partial pivoting; returns False if singular."""
    n = A.shape[0]
    for k in range(n):
        m = k
        big = abs(A[k, k])
        for i in range(k + 1, n):
            if abs(A[i, k]) > big:
                big = abs(A[i, k])
                m = i
        piv[k] = m
        if big == 0.0 or not math.isfinite(big):
            return False
        if m != k:
            for j in range(n):
                tmp = A[k, j]
                A[k, j] = A[m, j]
                A[m, j] = tmp
        inv = 1.0 / A[k, k]
        for i in range(k + 1, n):
            A[i, k] *= inv
            a = A[i, k]
            if a != 0.0:
                for j in range(k + 1, n):
                    A[i, j] -= a * A[k, j]
    return True


@njit(cache=True, nogil=True, error_model="numpy")
def _lu_solve(A, piv, b):
    n = A.shape[0]
    for k in range(n):
        m = piv[k]
        if m != k:
            tmp = b[k]
            b[k] = b[m]
            b[m] = tmp
    for i in range(n):
        acc = b[i]
        for j in range(i):
            acc -= A[i, j] * b[j]
        b[i] = acc
    for i in range(n - 1, -1, -1):
        acc = b[i]
        for j in range(i + 1, n):
            acc -= A[i, j] * b[j]
        b[i] = acc / A[i, i]


@njit(cache=True, nogil=True, error_model="numpy")
def _rodas_one(
    pat,
    params,
    t0,
    t_out,
    ev_t,
    ev_state,
    ev_kind,
    ev_val,
    save_idx,
    atol,
    rtol,
    max_steps,
    nonneg,
    out,
    status,
    nsteps,
):
    n_out = t_out.shape[0]
    hmax = t_out[n_out - 1] - t0
    p = params[pat].copy()
    y = np.empty(NS)
    u = np.zeros(NS)
    f = np.empty(NS)
    fx = np.empty(NS)
    ynew = np.empty(NS)
    J = np.empty((NS, NS))
    E = np.empty((NS, NS))
    piv = np.empty(NS, dtype=np.int64)
    k1 = np.empty(NS)
    k2 = np.empty(NS)
    k3 = np.empty(NS)
    k4 = np.empty(NS)
    k5 = np.empty(NS)
    k6 = np.empty(NS)
    w1 = np.empty(NS)
    w2 = np.empty(NS)
    init_one(p, y)
    ie, _ = _apply_events(t0, y, u, 0, ev_t, ev_state, ev_kind, ev_val, pat)
    io = _save_outputs(t0, y, 0, t_out, save_idx, out, pat)
    t = t0
    nst = 0
    if io >= n_out:
        status[pat] = ST_OK
        nsteps[pat] = 0
        return
    rhs_one(t, y, p, u, f)
    h = _hinit(t, y, f, p, u, atol, rtol, hmax, w1, w2)
    st = ST_OK
    while io < n_out:
        ts = _next_stop(io, ie, t_out, ev_t, ev_kind, ev_val, pat)
        hit = t + 1.01 * h >= ts
        hh = ts - t if hit else h
        # Jacobian, df/dt and the iteration matrix E = I/(h*gamma) - J
        rhs_one(t, y, p, u, f)
        jac_one(t, y, p, J)
        dfdt_one(t, y, p, fx)
        fac = 1.0 / (hh * RG)
        for i in range(NS):
            for j in range(NS):
                E[i, j] = -J[i, j]
            E[i, i] += fac
        if not _lu_factor(E, piv):
            h = 0.25 * hh
            nst += 1
            if h < 1e-14 * max(1.0, abs(t)) or nst >= max_steps:
                st = ST_HMIN
                break
            continue
        for i in range(NS):
            k1[i] = f[i] + hh * RD1 * fx[i]
        _lu_solve(E, piv, k1)
        for i in range(NS):
            ynew[i] = y[i] + RA21 * k1[i]
        rhs_one(t + RCC2 * hh, ynew, p, u, w1)
        for i in range(NS):
            k2[i] = w1[i] + RC21 * k1[i] / hh + hh * RD2 * fx[i]
        _lu_solve(E, piv, k2)
        for i in range(NS):
            ynew[i] = y[i] + RA31 * k1[i] + RA32 * k2[i]
        rhs_one(t + RCC3 * hh, ynew, p, u, w1)
        for i in range(NS):
            k3[i] = w1[i] + (RC31 * k1[i] + RC32 * k2[i]) / hh + hh * RD3 * fx[i]
        _lu_solve(E, piv, k3)
        for i in range(NS):
            ynew[i] = y[i] + RA41 * k1[i] + RA42 * k2[i] + RA43 * k3[i]
        rhs_one(t + RCC4 * hh, ynew, p, u, w1)
        for i in range(NS):
            k4[i] = w1[i] + (RC41 * k1[i] + RC42 * k2[i] + RC43 * k3[i]) / hh + hh * RD4 * fx[i]
        _lu_solve(E, piv, k4)
        for i in range(NS):
            ynew[i] = y[i] + RA51 * k1[i] + RA52 * k2[i] + RA53 * k3[i] + RA54 * k4[i]
        rhs_one(t + hh, ynew, p, u, w1)
        for i in range(NS):
            k5[i] = w1[i] + (RC51 * k1[i] + RC52 * k2[i] + RC53 * k3[i] + RC54 * k4[i]) / hh
        _lu_solve(E, piv, k5)
        for i in range(NS):
            ynew[i] += k5[i]
        rhs_one(t + hh, ynew, p, u, w1)
        for i in range(NS):
            k6[i] = (
                w1[i]
                + (RC61 * k1[i] + RC62 * k2[i] + RC63 * k3[i] + RC64 * k4[i] + RC65 * k5[i]) / hh
            )
        _lu_solve(E, piv, k6)
        for i in range(NS):
            ynew[i] += k6[i]
        err = 0.0
        for i in range(NS):
            sk = atol[i] + rtol * max(abs(y[i]), abs(ynew[i]))
            err += (k6[i] / sk) ** 2
        err = math.sqrt(err / NS)
        nst += 1
        if err <= 1.0:
            t = ts if hit else t + hh
            for i in range(NS):
                v = ynew[i]
                if nonneg[i] and v < 0.0:
                    v = 0.0
                y[i] = v
            fac = max(0.2, min(6.0, (max(err, 1e-10) ** 0.25) / SAFE))
            hnew = hh / fac
            h = min(max(hnew, h) if (hit and err < 0.5) else hnew, hmax)
            if hit:
                ie, jumped = _apply_events(t, y, u, ie, ev_t, ev_state, ev_kind, ev_val, pat)
                io = _save_outputs(t, y, io, t_out, save_idx, out, pat)
                if jumped and io < n_out:
                    rhs_one(t, y, p, u, f)
                    h = min(h, _hinit(t, y, f, p, u, atol, rtol, hmax, w1, w2))
        else:
            if math.isfinite(err):
                h = hh / max(0.2, min(6.0, (err**0.25) / SAFE))
            else:
                h = 0.1 * hh
            if h < 1e-14 * max(1.0, abs(t)):
                st = ST_HMIN if math.isfinite(err) else ST_NONFINITE
                break
        if nst >= max_steps:
            st = ST_MAXSTEPS
            break
    if io < n_out and st == ST_OK:
        st = ST_MAXSTEPS
    status[pat] = st
    nsteps[pat] = nst
    if st != ST_OK:
        for k in range(io, n_out):
            for j in range(save_idx.shape[0]):
                out[pat, k, j] = np.nan


@njit(cache=True, nogil=True, error_model="numpy")
def rodas_list(
    which,
    params,
    t0,
    t_out,
    ev_t,
    ev_state,
    ev_kind,
    ev_val,
    save_idx,
    atol,
    rtol,
    max_steps,
    nonneg,
    out,
    status,
    nsteps,
):
    """The patients listed in ``which``, one after the other (releases the GIL)."""
    for i in range(which.shape[0]):
        _rodas_one(
            which[i],
            params,
            t0,
            t_out,
            ev_t,
            ev_state,
            ev_kind,
            ev_val,
            save_idx,
            atol,
            rtol,
            max_steps,
            nonneg,
            out,
            status,
            nsteps,
        )
