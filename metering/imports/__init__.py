"""Platform imports: each platform's own usage export turned into `usage` events through the
same ingest as the API. One module per platform reads its format (`read`) and says what each
record measured (`measures`); `runner` prices the measures through the meter map and ingests
them in batches; `collect` is the hourly job over USAGE_IMPORT_DIR; `samples` writes realistic
files of each format for tests and the demo."""

from types import ModuleType

from . import azure_local, azure_stack, cloudstack, public_azure

READERS: dict[str, ModuleType] = {
    module.PLATFORM: module for module in (azure_stack, azure_local, public_azure, cloudstack)
}
