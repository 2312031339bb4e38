#!/usr/bin/env bash
# Aura master maintenance: brings this master to K8S_VERSION. Delivered by an
# Azure Run Command resource per master (a VM's custom data never changes);
# the program chains them so masters upgrade one at a time, before the agents.
# Does nothing when the master already runs K8S_VERSION.

wait_for_bootstrap
upgrade_master
