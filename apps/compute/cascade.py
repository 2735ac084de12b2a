"""What deleting a compute resource does to its children."""
from apps.core.cascade import cascade

from .models import Cluster, Host, Zone

cascade(Zone).deletes(Cluster, via="zone")
cascade(Cluster).deletes(Host, via="cluster")
