"""Message codecs: structured fields, ``structured@1.0`` and ``httpsig@1.0``.

Upstream: hb_structured_fields, dev_codec_structured, dev_codec_httpsig and
dev_codec_httpsig_conv.
"""
