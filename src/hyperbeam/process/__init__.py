"""Process state outside the device: computed results in the store
(:mod:`hyperbeam.process.cache`) and the live state of each process in memory
(:mod:`hyperbeam.process.workers`)."""
