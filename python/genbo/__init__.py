"""genbo from Python: a study's ask/tell loop over the C library (ctypes).

Shaped like Optuna's ask/tell interface::

    import genbo
    study = genbo.create_study("my.db", "study.ini")     # or genbo.Study("my.db", "name")
    for round in range(3):
        for trial in study.ask(target="p90", n=8):       # trains on the first ask
            study.tell(trial, measure(trial.x))          # trial.params: {name: value}
    print(study.best_trial.value, study.best_trial.params)

Designs are numpy arrays (trial.x, float64, the study's dimension). Every
failure of the library raises GenboError carrying genbo_errmsg(); a target
beyond the data gives a GenboWarning (warnings.warn) and trial.warning.
The library is found through GENBO_LIBRARY, the build/ folder beside this
checkout, or the system's libgenbo.so.
"""
import ctypes
import math
import warnings

import numpy as np

from . import _lib
from ._lib import lib, libc

__all__ = ["GenboError", "GenboWarning", "Study", "Trial", "FrozenTrial", "create_study",
           "delete_study", "studies", "version", "PHASE_ALL", "PHASE_RUN", "PHASE_LOOP"]

PHASE_ALL, PHASE_RUN, PHASE_LOOP = 0, 1, 2
_STATES = ("asked", "told", "failed")
_OPEN_READONLY, _OPEN_CREATE = 1, 2


class GenboError(Exception):
    """A genbo call failed. str(e) is genbo_errmsg(); e.status the GENBO_E*
    code (an int) and e.code its name ("GENBO_ENOTFOUND", ...)."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.code = lib.genbo_strstatus(status).decode()


class GenboWarning(UserWarning):
    """A design asked at a target beyond the data (it extrapolates)."""


def _check(rc):
    if rc != 0:
        raise GenboError(rc, lib.genbo_errmsg().decode(errors="replace"))


def _b(s):
    return None if s is None else str(s).encode()


def version():
    """The C library's version string."""
    return lib.genbo_version().decode()


class Trial:
    """A trial just asked: id, x (numpy array), params {feature name: value},
    target (resolved), target_label ("p90"), method, warning ("" or text)."""

    __slots__ = ("id", "x", "params", "target", "target_label", "method", "warning")

    def __init__(self, id, x, names, info):
        self.id = int(id)
        self.x = x
        self.params = dict(zip(names, (float(v) for v in x)))
        self.target = info.target
        self.target_label = info.target_label.decode()
        self.method = info.method.decode()
        self.warning = info.warning.decode()

    def __repr__(self):
        return f"Trial(id={self.id}, target={self.target_label}={self.target:.6g}, method={self.method})"


class FrozenTrial:
    """A stored trial: id, run, round (0 run phase, r >= 1 loop round, None
    ask), state ("asked", "told", "failed"), value (None unless told),
    predicted, support_distance, target, target_label, method, reason, x,
    params, asked / finished (Unix seconds)."""

    def __init__(self, t, names):
        self.id = t.id
        self.run = t.run_id or None
        self.round = None if t.round < 0 else t.round
        self.state = _STATES[t.state]
        self.value = None if math.isnan(t.value) else t.value
        self.predicted = None if math.isnan(t.predicted) else t.predicted
        self.support_distance = None if math.isnan(t.support_distance) else t.support_distance
        self.target = t.target
        self.target_label = t.target_label.decode()
        self.method = t.method.decode()
        self.reason = t.reason.decode(errors="replace")
        self.asked = t.asked
        self.finished = None if math.isnan(t.finished) else t.finished
        self.x = np.ctypeslib.as_array(t.x, shape=(t.dim,)).copy() if t.x else None
        self.params = {} if self.x is None else dict(zip(names, (float(v) for v in self.x)))

    def __repr__(self):
        return (f"FrozenTrial(id={self.id}, state={self.state}, value={self.value}, "
                f"method={self.method}, target={self.target_label})")


class Study:
    """An open study of a database. Study(db, name) opens an existing one
    (genbo.create_study makes one from a study file); read_only=True opens
    it with SQLITE_OPEN_READONLY (ask and tell then fail)."""

    def __init__(self, db, name, read_only=False, _handle=None):
        self.db = str(db)
        self.name = str(name)
        self._h = ctypes.c_void_p()
        if _handle is not None:
            self._h = _handle
        else:
            _check(lib.genbo_study_open(_b(db), _b(name), None,
                                        _OPEN_READONLY if read_only else 0, ctypes.byref(self._h)))
        self.dim = lib.genbo_study_dim(self._h)
        if self.dim == 0:
            _check(8)  # the message says why the data could not be loaded
        self.feature_names = [lib.genbo_study_feature_name(self._h, j).decode() for j in range(self.dim)]

    # -- life -------------------------------------------------------------
    def close(self):
        if self._h:
            lib.genbo_study_close(self._h)
            self._h = ctypes.c_void_p()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def _handle(self):
        if not self._h:
            raise GenboError(7, f"study '{self.name}' is closed")
        return self._h

    # -- ask/tell ---------------------------------------------------------
    @staticmethod
    def _progress(fn, box):
        """A C progress callback around fn(stage, done, total, msg) -> bool
        (True cancels). An exception in fn cancels and is raised after."""
        if fn is None:
            return _lib.PROGRESS_FN()

        def cb(ctx, stage, done, total, msg):
            try:
                return 1 if fn(stage.decode(), done, total, msg.decode() if msg else "") else 0
            except BaseException as e:  # KeyboardInterrupt included
                box.append(e)
                return 1
        return _lib.PROGRESS_FN(cb)

    def prepare(self, progress=None):
        """Train what ask needs if nothing is trained yet (data, reward model,
        pseudo-labels, diffusion model). progress(stage, done, total, msg)
        is called along the way; returning True cancels (GenboError
        "interrupted"), and the next prepare or ask goes on from there."""
        box = []
        cb = self._progress(progress, box)
        rc = lib.genbo_study_prepare(self._handle(), cb, None)
        if box:
            raise box[0]
        _check(rc)

    def ask(self, target=None, n=1, method=None, progress=None):
        """n new designs at a target: "pQ" (Q-th percentile of the pool's
        pseudo-rewards), "max" or a number, resolved as in the study file
        (None: the study's [loop] target); method None = [loop] method.
        Returns a list of n Trial objects (Optuna's ask returns one trial;
        genbo asks in batches). The first ask of a new study trains."""
        n = int(n)
        if n < 1:
            raise ValueError("ask: n must be >= 1")
        if target is not None and not isinstance(target, str):
            target = repr(float(target))
        ids = (ctypes.c_int64 * n)()
        X = np.empty((n, self.dim), dtype=np.float64)
        box = []
        opts = _lib.AskOptions(_b(target), _b(method), self._progress(progress, box), None)
        info = _lib.AskInfo()
        rc = lib.genbo_study_ask_with(self._handle(), ctypes.byref(opts), n, ids,
                                      X.ctypes.data_as(_lib.c_double_p), ctypes.byref(info))
        if box:
            raise box[0]
        _check(rc)
        trials = [Trial(ids[i], X[i].copy(), self.feature_names, info) for i in range(n)]
        if info.warning:
            warnings.warn(info.warning.decode(), GenboWarning, stacklevel=2)
        return trials

    @staticmethod
    def _id(trial):
        return int(trial.id if hasattr(trial, "id") else trial)

    def tell(self, trial, value):
        """Record the observed reward of a trial (a Trial or its id). Durable
        when it returns. Telling twice, an unknown trial or a non-finite
        value raise GenboError."""
        _check(lib.genbo_study_tell(self._handle(), self._id(trial), float(value)))

    def tell_failed(self, trial, reason="failed"):
        """Record that evaluating the trial failed (Optuna: state=FAIL)."""
        _check(lib.genbo_study_tell_failed(self._handle(), self._id(trial), _b(reason)))

    # -- reads ------------------------------------------------------------
    def _list(self, fn, phase):
        lst = ctypes.c_void_p()
        _check(fn(self._handle(), int(phase), ctypes.byref(lst)))
        try:
            return [FrozenTrial(lib.genbo_trial_list_get(lst, i).contents, self.feature_names)
                    for i in range(lib.genbo_trial_list_size(lst))]
        finally:
            lib.genbo_trial_list_free(lst)

    def get_trials(self, phase=PHASE_ALL):
        """Stored trials in id order: PHASE_ALL, PHASE_RUN (round 0 of runs)
        or PHASE_LOOP (loop rounds and asks)."""
        return self._list(lib.genbo_study_trials, phase)

    @property
    def trials(self):
        """Every trial of the study (FrozenTrial list, id order)."""
        return self.get_trials(PHASE_ALL)

    def best_of(self, phase=PHASE_LOOP):
        """The told trial with the largest value in a phase, or None."""
        best = self._list(lib.genbo_study_best_trial, phase)
        return best[0] if best else None

    @property
    def best_trial(self):
        """The best told trial of the design loop (Optuna: ValueError when
        nothing was told yet)."""
        t = self.best_of(PHASE_LOOP)
        if t is None:
            raise ValueError(f"study '{self.name}' has no told trial in its design loop yet")
        return t

    @property
    def best_value(self):
        return self.best_trial.value

    def __repr__(self):
        return f"Study(db={self.db!r}, name={self.name!r}, dim={self.dim})"


def create_study(db, study_file, progress=None):
    """Create (or open unchanged) the study a study file describes in db and
    check its data; returns the open Study. A changed study file for an
    existing study raises GenboError (delete_study it first)."""
    cfg = ctypes.c_void_p()
    _check(lib.genbo_config_load(_b(study_file), ctypes.byref(cfg)))
    try:
        buf = ctypes.create_string_buffer(256)
        _check(lib.genbo_config_get(cfg, b"study", b"name", buf, 256))
        h = ctypes.c_void_p()
        _check(lib.genbo_study_create(_b(db), cfg, ctypes.byref(h)))
    finally:
        lib.genbo_config_free(cfg)
    study = Study(db, buf.value.decode(), _handle=h)
    if progress is not None:
        study.prepare(progress)
    return study


def delete_study(db, name):
    """Delete a study and everything it owns."""
    _check(lib.genbo_study_delete(_b(db), _b(name)))


def studies(db):
    """Every study of a database as dicts: id, name, dim, created,
    last_activity, runs, running, asked, told, failed, best_value, best_loop
    (asks and loop rounds), best_run (round 0); None where nothing was told."""
    arr = ctypes.POINTER(_lib.StudySummary)()
    n = ctypes.c_size_t()
    _check(lib.genbo_db_studies(_b(db), ctypes.byref(arr), ctypes.byref(n)))
    try:
        out = []
        for i in range(n.value):
            s = arr[i]
            out.append({"id": s.id, "name": s.name.decode(), "dim": s.dim, "created": s.created,
                        "last_activity": s.last_activity, "runs": s.runs, "running": s.running,
                        "asked": s.asked, "told": s.told, "failed": s.failed,
                        "best_value": None if math.isnan(s.best_value) else s.best_value,
                        "best_loop": None if math.isnan(s.best_loop) else s.best_loop,
                        "best_run": None if math.isnan(s.best_run) else s.best_run})
        return out
    finally:
        libc.free(arr)
