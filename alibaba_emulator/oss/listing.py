"""One page of a listing by prefix, delimiter and marker, the way OSS pages keys: entries are
keys and common prefixes (a key cut after the first delimiter that follows the prefix) in byte
order, both count towards max-keys, and a page that stops at a common prefix resumes after every
key below it."""
import bisect
import dataclasses


@dataclasses.dataclass
class Page:
    keys: list            # keys listed in full
    prefixes: list        # common prefixes
    truncated: bool
    next_marker: str      # the last entry of the page when truncated, else ""


def _entries(sorted_keys: list, prefix: str, delimiter: str, marker: str):
    start = max(marker, prefix)
    index = bisect.bisect_right(sorted_keys, start) if start == marker else bisect.bisect_left(sorted_keys, start)
    last_prefix = None
    for key in sorted_keys[index:]:
        if not key.startswith(prefix):   # keys below the prefix are contiguous, and all came first
            return
        if delimiter:
            cut = key.find(delimiter, len(prefix))
            if cut >= 0:
                common = key[:cut + len(delimiter)]
                if common == last_prefix or common == marker:
                    continue
                last_prefix = common
                yield common, True
                continue
        yield key, False


def page(sorted_keys: list, *, prefix: str = "", delimiter: str = "", marker: str = "",
         max_keys: int = 100) -> Page:
    keys, prefixes = [], []
    last = ""
    for entry, is_prefix in _entries(sorted_keys, prefix, delimiter, marker):
        if len(keys) + len(prefixes) == max_keys:
            return Page(keys, prefixes, True, last)
        (prefixes if is_prefix else keys).append(entry)
        last = entry
    return Page(keys, prefixes, False, "")
