"""ClientToken idempotency: a call repeated with the same token answers what the first one did
(and creates nothing new); the same token with other parameters is IdempotentParameterMismatch."""
import hashlib
import json

from .errors import ApiError

# parameters that differ between two sends of the same request (signature, clock, nonce)
_VOLATILE = {"ClientToken", "Signature", "SignatureNonce", "Timestamp", "SignatureMethod", "SignatureVersion",
             "AccessKeyId", "Format", "Version", "Action", "SecurityToken"}
_KEEP = 20_000   # tokens kept per account; the oldest go first


def _digest(call):
    kept = {k: v for k, v in call.params.values.items() if k not in _VOLATILE}
    return hashlib.sha256(json.dumps(kept, sort_keys=True).encode()).hexdigest()


def _tokens(call):
    return call.emulator.data["tokens"].setdefault(call.account, {})


def replay(call):
    """The answer of an earlier call with this ClientToken, or None (no token, or first time)."""
    token = call.params.str("ClientToken")
    if not token:
        return None
    seen = _tokens(call).get(f"{call.product}.{call.action}:{token}")
    if seen is None:
        return None
    if seen["digest"] != _digest(call):
        raise ApiError(400, "IdempotentParameterMismatch",
                       "The specified parameters are different from before with the same ClientToken.")
    return seen["answer"]


def remember(call, answer):
    token = call.params.str("ClientToken")
    if token:
        tokens = _tokens(call)
        tokens[f"{call.product}.{call.action}:{token}"] = {"digest": _digest(call), "answer": answer}
        while len(tokens) > _KEEP:
            del tokens[next(iter(tokens))]
    return answer
