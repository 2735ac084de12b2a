from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from rest_framework import serializers

from apps.core.api.fields import UuidRelatedField
from apps.core.api.serializers import BuiltOnceFieldsMixin, FieldSelectionMixin, ResourceSerializer

from .models import Account, AccountType, User


def _check_password(value, user=None):
    try:
        validate_password(value, user)
    except DjangoValidationError as exc:
        raise serializers.ValidationError(list(exc.messages)) from None
    return value


class AccountSerializer(ResourceSerializer):
    type = serializers.ChoiceField(choices=AccountType.choices, default=AccountType.NORMAL)
    password = serializers.CharField(write_only=True, required=True, min_length=8, max_length=128,
                                     style={"input_type": "password"})

    class Meta(ResourceSerializer.Meta):
        model = Account
        fields = ResourceSerializer.Meta.fields + ["type", "password"]

    def validate_name(self, value):
        value = value.strip()
        longest = User._meta.get_field("username").max_length
        if self.instance is None and len(value) > longest:
            raise serializers.ValidationError(
                f"a new account's first user takes its name: at most {longest} characters")
        query = Account.objects.filter(name=value)
        if self.instance is not None:
            query = query.exclude(pk=self.instance.pk)
        if query.exists():
            raise serializers.ValidationError(f"an account named '{value}' already exists")
        if self.instance is None and User.objects.filter(username=value).exists():
            raise serializers.ValidationError(f"a user named '{value}' already exists")
        return value

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None:  # updates: no password, no type change
            fields.pop("password", None)
            fields["type"].read_only = True
        return fields

    def create(self, validated_data):
        password = validated_data.pop("password")
        with transaction.atomic():  # never an account without its first user
            account = Account.objects.create(**validated_data)
            user = User(username=account.name, account=account)
            user.set_password(password)
            user.save()
        return account


class UserSerializer(FieldSelectionMixin, BuiltOnceFieldsMixin, serializers.ModelSerializer):
    uuid = serializers.UUIDField(read_only=True)
    name = serializers.CharField(source="username", max_length=150)
    password = serializers.CharField(write_only=True, min_length=8, max_length=128, style={"input_type": "password"})
    account_uuid = UuidRelatedField(source="account", queryset=Account.objects.all(), required=False)

    class Meta:
        model = User
        fields = ["uuid", "name", "description", "account_uuid", "password", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]

    def validate_name(self, value):
        query = User.objects.filter(username=value)
        if self.instance is not None:
            query = query.exclude(pk=self.instance.pk)
        if query.exists():
            raise serializers.ValidationError(f"a user named '{value}' already exists")
        return value

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None:
            fields["account_uuid"].read_only = True
            fields["password"].required = False
        return fields

    def create(self, validated_data):
        password = validated_data.pop("password")
        user = User(**validated_data)
        user.set_password(password)
        user.save()
        return user

    def update(self, instance, validated_data):
        password = validated_data.pop("password", None)
        for key, value in validated_data.items():
            setattr(instance, key, value)
        if password:
            instance.set_password(password)
        instance.save()
        return instance


class LoginSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"})


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()
    user_uuid = serializers.UUIDField()
    account_uuid = serializers.UUIDField()
    account_type = serializers.CharField()
