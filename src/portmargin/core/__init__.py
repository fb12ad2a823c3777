"""Core vocabulary shared by every layer: errors, time conventions, validation helpers."""

from portmargin.core._checks import (
    require_epoch_ms,
    require_finite,
    require_non_empty,
    require_non_negative,
    require_positive,
)
from portmargin.core._config import (
    OPTIONAL_KEY,
    check_keys,
    config_from_mapping,
    config_to_mapping,
    key_path,
    optional_key,
    parse_number,
    require_table,
)
from portmargin.core._errors import (
    DataFormatError,
    InstrumentNameError,
    MarketDataError,
    PortmarginError,
    PricingError,
    ValidationError,
)
from portmargin.core._text import name_some
from portmargin.core._time import (
    MS_PER_DAY,
    SECONDS_PER_YEAR,
    datetime_to_ms,
    ms_to_datetime,
    year_fraction,
)

__all__ = [
    "MS_PER_DAY",
    "OPTIONAL_KEY",
    "SECONDS_PER_YEAR",
    "DataFormatError",
    "InstrumentNameError",
    "MarketDataError",
    "PortmarginError",
    "PricingError",
    "ValidationError",
    "check_keys",
    "config_from_mapping",
    "config_to_mapping",
    "datetime_to_ms",
    "key_path",
    "ms_to_datetime",
    "name_some",
    "optional_key",
    "parse_number",
    "require_epoch_ms",
    "require_finite",
    "require_non_empty",
    "require_non_negative",
    "require_positive",
    "require_table",
    "year_fraction",
]
