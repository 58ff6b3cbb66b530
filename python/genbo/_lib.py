"""ctypes bindings of the parts of genbo.h the module uses (internal).

The structs mirror include/genbo.h field by field; test_python.py's
layout test compares their sizes with what the C compiler says."""
import ctypes
import ctypes.util
import os

c_int64_p = ctypes.POINTER(ctypes.c_int64)
c_double_p = ctypes.POINTER(ctypes.c_double)

# int (*)(void *ctx, const char *stage, long done, long total, const char *msg)
PROGRESS_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_long,
                               ctypes.c_long, ctypes.c_char_p)


class AskOptions(ctypes.Structure):
    _fields_ = [("target", ctypes.c_char_p), ("method", ctypes.c_char_p),
                ("progress", PROGRESS_FN), ("progress_ctx", ctypes.c_void_p)]


class AskInfo(ctypes.Structure):
    _fields_ = [("target", ctypes.c_double), ("target_label", ctypes.c_char * 32),
                ("method", ctypes.c_char * 32), ("run_id", ctypes.c_int64),
                ("data_max", ctypes.c_double), ("beyond_data", ctypes.c_int),
                ("warning", ctypes.c_char * 256)]


class Trial(ctypes.Structure):
    _fields_ = [("id", ctypes.c_int64), ("run_id", ctypes.c_int64), ("round", ctypes.c_int),
                ("state", ctypes.c_int), ("target", ctypes.c_double), ("value", ctypes.c_double),
                ("predicted", ctypes.c_double), ("support_distance", ctypes.c_double),
                ("asked", ctypes.c_double), ("finished", ctypes.c_double),
                ("method", ctypes.c_char * 32), ("target_label", ctypes.c_char * 32),
                ("reason", ctypes.c_char * 256), ("dim", ctypes.c_size_t), ("x", c_double_p)]


class StudySummary(ctypes.Structure):
    _fields_ = [("id", ctypes.c_int64), ("name", ctypes.c_char * 128), ("dim", ctypes.c_size_t),
                ("created", ctypes.c_double), ("last_activity", ctypes.c_double),
                ("runs", ctypes.c_int64), ("running", ctypes.c_int64), ("asked", ctypes.c_int64),
                ("told", ctypes.c_int64), ("failed", ctypes.c_int64),
                ("best_value", ctypes.c_double), ("best_loop", ctypes.c_double),
                ("best_run", ctypes.c_double)]


def _find_library():
    """GENBO_LIBRARY, else the build tree beside this checkout, else the
    system's libgenbo (ldconfig / LD_LIBRARY_PATH)."""
    env = os.environ.get("GENBO_LIBRARY")
    if env:
        return env
    here = os.path.dirname(os.path.abspath(__file__))
    for build in ("build", "build-release"):
        cand = os.path.join(here, "..", "..", build, "libgenbo.so")
        if os.path.exists(cand):
            return os.path.normpath(cand)
    found = ctypes.util.find_library("genbo")
    if found:
        return found
    raise OSError("genbo: cannot find libgenbo.so: set GENBO_LIBRARY to its path, or build "
                  "genbo (cmake --build build) beside this python/ folder")


def _load():
    lib = ctypes.CDLL(_find_library())
    vp = ctypes.c_void_p
    sigs = {
        "genbo_errmsg": (ctypes.c_char_p, []),
        "genbo_strstatus": (ctypes.c_char_p, [ctypes.c_int]),
        "genbo_version": (ctypes.c_char_p, []),
        "genbo_config_load": (ctypes.c_int, [ctypes.c_char_p, ctypes.POINTER(vp)]),
        "genbo_config_free": (None, [vp]),
        "genbo_config_get": (ctypes.c_int, [vp, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p,
                                            ctypes.c_size_t]),
        "genbo_study_create": (ctypes.c_int, [ctypes.c_char_p, vp, ctypes.POINTER(vp)]),
        "genbo_study_open": (ctypes.c_int, [ctypes.c_char_p, ctypes.c_char_p, vp, ctypes.c_int,
                                            ctypes.POINTER(vp)]),
        "genbo_study_close": (None, [vp]),
        "genbo_study_delete": (ctypes.c_int, [ctypes.c_char_p, ctypes.c_char_p]),
        "genbo_study_dim": (ctypes.c_size_t, [vp]),
        "genbo_study_prepare": (ctypes.c_int, [vp, PROGRESS_FN, vp]),
        "genbo_study_ask_with": (ctypes.c_int, [vp, ctypes.POINTER(AskOptions), ctypes.c_size_t,
                                                c_int64_p, c_double_p, ctypes.POINTER(AskInfo)]),
        "genbo_study_tell": (ctypes.c_int, [vp, ctypes.c_int64, ctypes.c_double]),
        "genbo_study_tell_failed": (ctypes.c_int, [vp, ctypes.c_int64, ctypes.c_char_p]),
        "genbo_study_feature_name": (ctypes.c_char_p, [vp, ctypes.c_size_t]),
        "genbo_study_trials": (ctypes.c_int, [vp, ctypes.c_int, ctypes.POINTER(vp)]),
        "genbo_study_best_trial": (ctypes.c_int, [vp, ctypes.c_int, ctypes.POINTER(vp)]),
        "genbo_trial_list_size": (ctypes.c_size_t, [vp]),
        "genbo_trial_list_get": (ctypes.POINTER(Trial), [vp, ctypes.c_size_t]),
        "genbo_trial_list_free": (None, [vp]),
        "genbo_db_studies": (ctypes.c_int, [ctypes.c_char_p, ctypes.POINTER(ctypes.POINTER(StudySummary)),
                                            ctypes.POINTER(ctypes.c_size_t)]),
    }
    for name, (res, args) in sigs.items():
        fn = getattr(lib, name)
        fn.restype = res
        fn.argtypes = args
    libc = ctypes.CDLL(None)
    libc.free.argtypes = [vp]
    libc.free.restype = None
    return lib, libc


lib, libc = _load()
